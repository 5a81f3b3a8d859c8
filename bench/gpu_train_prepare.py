#!/usr/bin/env python3
"""Run HERE before a GPU training call: the bundled styles' training data, small enough to carry.

Writes the git-ignored ``.gpu_train/`` (~8 MB): ``content/`` (the light set's content: photos,
sampled frames of the two clips and the Sintel frames, JPEG at 288 px short side, flat frames
dropped; never golden_gate, chelsea or coffee, which stay held out for evaluation), ``styles/``
(the six paintings at 512 px long side and the two procedural images) and ``styles.tsv`` (name,
image, loss net, style weight: each bundled style's recorded setting). Pair it with
``bench/gpu_prepare.sh`` (the Lite0 and VGG19 weights) and run ``bench/gpu_train.sh`` there.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
OUT = ROOT / ".gpu_train"
CONTENT = ["data/content/chicago.jpg", "data/content/tubingen.jpg", "data/content/amber.jpg", "data/content/kodim03.png",
           "data/video/cockatoo_720p.mp4", "data/video/big_buck_bunny_480p_30s.mp4", "data/video/sintel_mountain_2",
           "data/faces/photos"]
HELD_OUT = {"golden_gate", "chelsea", "coffee"}


def main() -> int:
    import cv2

    from models.styles.procedural import render_style_image
    from models.training.data import load_content

    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "content").mkdir(parents=True)
    (OUT / "styles").mkdir()
    paths = [SHARED / p for p in CONTENT]
    assert not any(p.stem in HELD_OUT for p in paths)
    frames = load_content([str(p) for p in paths if p.exists()], size=144, max_frames_per_video=60)  # short side <= 288
    for i, im in enumerate(frames):
        cv2.imwrite(str(OUT / "content" / f"{i:04d}.jpg"), im[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    rows = []
    for meta_path in sorted((ROOT / "models/styles").glob("*.json")):
        meta = json.loads(meta_path.read_text())
        if meta.get("kind") == "multistyle":
            continue
        name, tr = meta["name"], meta["training"]
        dst = OUT / "styles" / f"{name}.jpg"
        src = SHARED / "data/styles" / tr["style_image"]
        im = cv2.imread(str(src)) if src.exists() else render_style_image(name, size=512, seed=0)[:, :, ::-1]
        s = 512 / max(im.shape[:2])
        if s < 1:
            im = cv2.resize(im, (round(im.shape[1] * s), round(im.shape[0] * s)), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(dst), im, [cv2.IMWRITE_JPEG_QUALITY, 92])
        rows.append(f"{name}\t{dst.name}\t{meta['loss_net']}\t{tr['style_weight']}\t{meta.get('preserve_color', 0)}")
    (OUT / "styles.tsv").write_text("\n".join(rows) + "\n")
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"{OUT}: {len(frames)} content images, {len(rows)} styles, {size / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
