"""Before/after of `stylecast faces` compositing (issue 20) and the matte-edge steps it removes.

For shared portraits (../shared/data/faces/photos) and the CUHK pencil set: the face stylized
and pasted on the untouched photo (surround="photo", the old behaviour) versus the whole frame in
the exemplars' global look (surround="look", default). Prints, per photo, the chroma and
luminance steps across the matte edge (ring just outside minus ring just inside, Lab units; a
cut-out face has large steps) and writes the figure: input | photo surround | look surround.
Usage: .venv/bin/python bench/faces_surround.py [--figure docs/faces_surround.jpg]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from offline.faces import FaceStyleConfig, FaceStylizer, load_exemplars  # noqa: E402
from offline.faces.landmarks import default_detector  # noqa: E402
from tests.offline.test_faces_data import _edge_steps  # noqa: E402

PHOTOS = ("girl-2128294_1920.png", "model-2911329_1920.png", "astronaut_eileen_collins.png")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--figure", type=Path, default=ROOT / "docs" / "faces_surround.jpg")
    ap.add_argument("--tile", type=int, default=300, help="tile size in the figure (px)")
    args = ap.parse_args()
    det = default_detector()
    ex = load_exemplars(SHARED / "data" / "faces" / "exemplars_sketch", det)
    rows = []
    print("| photo | chroma step photo -> look | luminance step photo -> look | look surround time |")
    print("|---|---|---|---|")
    for name in PHOTOS:
        img = cv2.cvtColor(cv2.imread(str(SHARED / "data" / "faces" / "photos" / name)), cv2.COLOR_BGR2RGB)
        face = det(img)[0]
        outs, secs = {}, {}
        for s in ("photo", "look"):
            st = FaceStylizer(ex, config=FaceStyleConfig(surround=s))
            t = time.perf_counter()
            outs[s] = st.stylize_image(img, [face])[0]
            secs[s] = time.perf_counter() - t
        _, mask, _ = FaceStylizer(ex).stylize_face(img.astype(np.float32) / 255.0, face.landmarks)
        (cp, lp), (cl, ll) = _edge_steps(outs["photo"], mask), _edge_steps(outs["look"], mask)
        print(f"| {name} | {cp:.1f} -> {cl:.1f} | {lp:.1f} -> {ll:.1f} | {secs['look']:.2f} s (photo {secs['photo']:.2f} s) |")
        t = args.tile
        rows.append(np.concatenate([cv2.resize(x, (t, t), interpolation=cv2.INTER_AREA)
                                    for x in (img, outs["photo"], outs["look"])], axis=1))
    fig = np.concatenate(rows, axis=0)
    cv2.imwrite(str(args.figure), cv2.cvtColor(fig, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
