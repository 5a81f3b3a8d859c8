"""Style loss to the painting on held-out still photos: a style-only check outside the video halves.

The same VGG19 Gram loss as bench/flicker_report.py (sum over relu1_1..relu5_1, centre 384 crop at
the photo's own size, painting resized to the photo's longer side), per network, and the rise of
each network against a baseline network (``--baseline``, e.g. today's bundled style). The default
photos are ones no bundled style trained on and that are not in the report half: golden_gate and
coffee from ../shared/data/content, astronaut and rocket from models/io/demo_photos (a studio
portrait on a flat background is the nearest still to a webcam shot).

    python bench/style_stills.py --baseline wave --styles out/wave_H240.safetensors out/wave_G240.safetensors
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import cv2
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flicker_report as fr  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def default_photos() -> list[Path]:
    return [fr.shared_dir() / "data" / "content" / "golden_gate.jpg", fr.shared_dir() / "data" / "content" / "coffee.png",
            ROOT / "models" / "io" / "demo_photos" / "astronaut.jpg", ROOT / "models" / "io" / "demo_photos" / "rocket.jpg"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--styles", nargs="+", required=True)
    ap.add_argument("--photos", nargs="*", default=None)
    args = ap.parse_args()
    photos = [Path(p) for p in args.photos] if args.photos else default_photos()
    missing = [str(p) for p in photos if not p.is_file()]
    if missing:
        raise SystemExit(f"photos not found: {missing} (set STYLECAST_SHARED)")
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    sys.path.insert(0, str(fr.shared_dir() / "tools"))
    import reference_nets as rn
    from models.styles.registry import load_stylizer

    vgg = rn.load_vgg19_features(str(fr.shared_dir() / "weights" / "vgg19_imagenet_features.fp16.safetensors"))
    names = [args.baseline, *args.styles]
    nets = {s: load_stylizer(s) for s in names}
    p = fr.painting(args.baseline)
    loss: dict[tuple[str, str], float] = {}
    for ph in photos:
        x = torch.from_numpy(cv2.cvtColor(cv2.imread(str(ph)), cv2.COLOR_BGR2RGB)).permute(2, 0, 1)[None].float() / 255.0
        h, w = x.shape[-2:]
        s = torch.from_numpy(fr._even_resize(p, int(round(p.shape[0] * max(h, w) / max(p.shape[:2])))))
        target = fr.vgg_grams(vgg, s.permute(2, 0, 1)[None].float() / 255.0)
        for n, net in nets.items():
            loss[(ph.stem, n)] = fr.style_loss_to(vgg, net(x).float(), target)
    stems = [ph.stem for ph in photos]
    print("| style | " + " | ".join(stems) + " | median | worst |\n|---|" + "---|" * (len(stems) + 2))
    for n in args.styles:
        rises = [loss[(st, n)] / loss[(st, args.baseline)] - 1.0 for st in stems]
        worst = max(range(len(stems)), key=lambda i: rises[i])
        print(f"| {n} | " + " | ".join(f"{100 * r:+.1f} %" for r in rises)
              + f" | {100 * statistics.median(rises):+.1f} % | {100 * rises[worst]:+.1f} % ({stems[worst]}) |")
    print(f"\n{args.baseline} style loss: " + ", ".join(f"{st} {loss[(st, args.baseline)]:.4g}" for st in stems))


if __name__ == "__main__":
    main()
