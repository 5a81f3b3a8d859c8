"""``stylecast eval ORIGINAL STYLIZED``: temporal stability and fidelity of a stylized video."""
from __future__ import annotations

import argparse
import sys


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "eval",
        help="warping error (flicker) and content/style fidelity of a stylized video",
        description="Prints E_warp (Lai et al. 2018: mean non-occluded squared RGB difference between "
                    "frame t and frame t+1 warped back with flow estimated on ORIGINAL, [0,1] scale; "
                    "lower = steadier), the content loss against the original and, with "
                    "--style-image, the Gram style loss against the style image.",
    )
    p.add_argument("original", help="the unstylized source video")
    p.add_argument("stylized", help="the stylized video (same frames, same size)")
    p.add_argument("--style-image", default=None, help="style image for the Gram style loss")
    p.add_argument("--loss-net", default="efficientnet_lite0", choices=("efficientnet_lite0", "vgg19", "vgg16"),
                   help="feature network for content/style figures (vgg19 needs --loss-weights or "
                        "STYLECAST_VGG19_WEIGHTS; default: efficientnet_lite0, works offline)")
    p.add_argument("--loss-weights", default=None, help="local weights file for --loss-net")
    p.add_argument("--max-frames", type=int, default=60, help="evaluate the first N frames (default: 60)")
    p.add_argument("--max-side", type=int, default=480, help="downscale so the longer side is at most N (default: 480)")
    p.set_defaults(func=run)


def _load(path: str, max_frames: int, max_side: int, what: str):  # type: ignore[no-untyped-def]
    import cv2
    import numpy as np

    from models.io import open_video, to_tensor

    frames = []
    with open_video(path) as r:
        for img in r:
            if len(frames) >= max_frames:
                break
            h, w = img.shape[:2]
            if max(h, w) > max_side:
                s = max_side / max(h, w)
                img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            frames.append(img)
    return to_tensor(np.stack(frames), device="cpu", dtype=None)


def run(args: argparse.Namespace) -> int:
    import torch
    from tqdm import tqdm

    from models.errors import UserError
    from models.losses.networks import build_loss_network
    from models.io import read_image, to_tensor
    from models.temporal.metrics import fidelity, pair_warping_errors

    if args.max_frames < 2:
        raise UserError(f"--max-frames: expected at least 2, got {args.max_frames}")
    if args.max_side < 16:
        raise UserError(f"--max-side: expected at least 16, got {args.max_side}")
    orig = _load(args.original, args.max_frames, args.max_side, "original")
    styl = _load(args.stylized, args.max_frames, args.max_side, "stylized")
    if orig.shape[-2:] != styl.shape[-2:]:
        raise UserError(f"videos differ in size after scaling: original {tuple(orig.shape[-2:])}, "
                        f"stylized {tuple(styl.shape[-2:])} (expected the same H x W)")
    t = min(len(orig), len(styl))
    if t < 2:
        raise UserError(f"expected at least 2 frames in both videos, got {len(orig)} and {len(styl)}")
    if len(orig) != len(styl):
        print(f"note: frame counts differ ({len(orig)} vs {len(styl)}); using the first {t}", file=sys.stderr)
    orig, styl = orig[:t], styl[:t]
    errs = []
    for i in tqdm(range(t - 1), desc="E_warp over frame pairs", unit="pair"):
        errs.append(pair_warping_errors(orig[i:i + 2], styl[i:i + 2]))
    e = torch.cat(errs)
    print(f"frames: {t} at {orig.shape[-1]}x{orig.shape[-2]}")
    print(f"E_warp: {float(e.mean()):.6f}  (x1e3: {1e3 * float(e.mean()):.3f}; per-pair max {1e3 * float(e.max()):.3f})")
    net = build_loss_network(args.loss_net, weights=args.loss_weights)
    style = None
    if args.style_image:
        img = read_image(args.style_image)
        style = to_tensor(img, device="cpu")
        if max(style.shape[-2:]) > args.max_side:
            s = args.max_side / max(style.shape[-2:])
            style = torch.nn.functional.interpolate(style, scale_factor=s, mode="area")
    fid = fidelity(orig, styl, net, style_image=style)
    print(f"content loss ({args.loss_net} {net.content_tap}): {fid['content']:.6g}")
    if "style" in fid:
        print(f"style loss ({args.loss_net} Gram {','.join(net.style_taps)}): {fid['style']:.6g}")
    return 0
