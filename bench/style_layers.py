"""Per-layer split of bench/flicker_report.py's VGG19 style loss, for a few networks on a few clips.

The report's style loss is the unweighted sum over relu1_1..relu5_1 of the mean squared Gram
difference to the painting; this prints each term, on the report's centre 384 crop and on the
whole frame, for frames T//2 and T-1 of the clip's window (the frames the report uses). The
painting is taken from the first style's training image (all styles must share it).

    python bench/style_layers.py --clips webcam bunny --styles wave out/final/wave.safetensors
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flicker_report as fr  # noqa: E402

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", nargs="+", default=list(fr.CLIPS), choices=list(fr.CLIPS))
    ap.add_argument("--styles", nargs="+", required=True)
    ap.add_argument("--frames", type=int, default=6)
    args = ap.parse_args()
    if not (fr.shared_dir() / "data" / "video").is_dir():
        raise SystemExit(f"needs the shared clips: {fr.shared_dir() / 'data' / 'video'} not found (set STYLECAST_SHARED)")
    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    sys.path.insert(0, str(fr.shared_dir() / "tools"))
    import reference_nets as rn
    from models.styles.registry import load_stylizer

    vgg = rn.load_vgg19_features(str(fr.shared_dir() / "weights" / "vgg19_imagenet_features.fp16.safetensors"))
    nets = {s: load_stylizer(s) for s in args.styles}
    p = fr.painting(args.styles[0])
    print("| clip | style | region | total | " + " | ".join(LAYERS) + " |\n|---|---|---|---|" + "---|" * len(LAYERS))
    for clip in args.clips:
        u8 = fr.read_clip(clip, args.frames)
        t = len(u8)
        x = torch.from_numpy(u8[sorted({t // 2, t - 1})]).permute(0, 3, 1, 2).float() / 255.0
        h, w = x.shape[-2:]
        s = torch.from_numpy(fr._even_resize(p, int(round(p.shape[0] * max(h, w) / max(p.shape[:2])))))
        target = fr.vgg_grams(vgg, s.permute(2, 0, 1)[None].float() / 255.0)
        for name, net in nets.items():
            y = torch.cat([net(x[i:i + 1]).float() for i in range(len(x))])
            for region, crop in (("centre 384", fr.centre_crop), ("whole frame", lambda v: v)):
                per = np.zeros(len(LAYERS))
                for f in y:
                    g = fr.vgg_grams(vgg, crop(f[None]))
                    per += np.array([float(((a - b) ** 2).mean()) for a, b in zip(g, target)]) / len(y)
                print(f"| {clip} | {name} | {region} | {per.sum():.4g} | " + " | ".join(f"{v:.3g}" for v in per) + " |",
                      flush=True)


if __name__ == "__main__":
    main()
