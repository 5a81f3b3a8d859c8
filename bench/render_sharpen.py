#!/usr/bin/env python3
"""Choose RenderScale.sharpen (the unsharp mask on the upsampled network output) on a tuning clip.

For each bundled style with a painting in ../shared/data/styles: every 8th of the first 25 frames
of the clip, the network at ``--scale`` x the frame, guided upsampling (models.guided) with each
sharpen amount; figure: VGG19 Gram style loss to the painting (bench/render_scale.py's loss) /
that of the network's full-size output. Lower = closer to the painting; 1.00 = as full size.
The report clips are measured by ``bench/render_scale.py --part quality`` (the engine's path).

    python bench/render_sharpen.py [--clip slowpan_city_cc0.mpg] [--scale 0.75] [--amounts 0 0.25 0.5 0.75]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import render_scale as rs  # noqa: E402

from models.guided import RenderScale, downscale, guided_upsample  # noqa: E402

STYLES = ("starry_night", "wave", "the_scream", "udnie", "woman_with_hat", "seaport_claude_lorrain")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default="slowpan_city_cc0.mpg")
    ap.add_argument("--scale", type=float, default=0.75)
    ap.add_argument("--amounts", nargs="+", type=float, default=[0.0, 0.25, 0.5, 0.75])
    ap.add_argument("--styles", nargs="+", default=list(STYLES))
    args = ap.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(rs.SHARED / "tools"))
    import reference_nets as rn

    from models.styles.registry import load_stylizer

    vgg = rn.load_vgg19_features(str(rs.SHARED / "weights" / "vgg19_imagenet_features.fp16.safetensors"))
    frames = rs.read_clip(args.clip, 25)[::8]
    print("| style | " + " | ".join(f"sharpen {a:g}" for a in args.amounts) + " |")
    print("|---|" + "---|" * len(args.amounts))
    for style in args.styles:
        net = load_stylizer(style)
        ref = rs.vgg_feats(vgg, rs.painting(style, max(frames[0].shape[:2])))[0]
        ratios: dict[float, list[float]] = {a: [] for a in args.amounts}
        for f in frames:
            x = torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255
            with torch.no_grad():
                full = rs.style_loss(rs.vgg_feats(vgg, net(x))[0], ref)
                small = downscale(x, RenderScale(scale=args.scale).size(*x.shape[-2:]))
                y = net(small)
                for a in args.amounts:
                    out = guided_upsample(y, small, x, sharpen=a)
                    ratios[a].append(rs.style_loss(rs.vgg_feats(vgg, out)[0], ref) / full)
        print(f"| {style} | " + " | ".join(f"{np.mean(ratios[a]):.3f}x" for a in args.amounts) + " |", flush=True)


if __name__ == "__main__":
    main()
