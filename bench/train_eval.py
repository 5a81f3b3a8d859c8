"""How much a trained style moves held-out photos toward its style image (Lite0 loss space).

For each style: Gram-style loss of the photo itself (baseline, measured in the same run) vs of the
stylized photo, and the content loss the stylization costs. Photos must not be training images.

    .venv/bin/python bench/train_eval.py --style starry_night=../shared/data/styles/starry_night.jpg \
        --photo ../shared/data/content/golden_gate.jpg --photo ../shared/data/content/chelsea.png --size 256
"""
from __future__ import annotations

import argparse

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--style", action="append", required=True, help="NAME_OR_PATH=STYLE_IMAGE")
    ap.add_argument("--photo", action="append", required=True)
    ap.add_argument("--size", type=int, default=256, help="short side of the photos")
    a = ap.parse_args()
    from models.losses.functional import content_loss, style_loss
    from models.losses.networks import build_loss_network
    from models.io import read_image, to_tensor
    from models.styles.registry import load_stylizer, style_metadata
    from models.training.loop import TrainConfig, style_targets

    net = build_loss_network("efficientnet_lite0")
    photos = []
    for p in a.photo:
        x = to_tensor([read_image(p)], device="cpu", dtype=torch.float32)
        s = a.size / min(x.shape[-2:])
        photos.append(torch.nn.functional.interpolate(x, scale_factor=s, mode="bilinear", antialias=True))
    print(f"{'style':14s} {'photo':16s} {'style loss photo':>17s} {'stylized':>9s} {'ratio':>6s} {'content loss':>12s}")
    for spec in a.style:
        name, _, image = spec.partition("=")
        meta = style_metadata(name)
        cfg = TrainConfig(style=image, content=(), output="-", style_size=int(meta["training"].get("style_size", 256)),
                          style_scale=float(meta["training"].get("style_scale", 1.0)))
        targets = style_targets(cfg, net, torch.device("cpu"))
        model = load_stylizer(name)
        for path, x in zip(a.photo, photos):
            with torch.no_grad():
                fx, fy = net(x), net(model(x))
                s0 = float(style_loss({k: fx[k] for k in net.style_taps}, targets))
                s1 = float(style_loss({k: fy[k] for k in net.style_taps}, targets))
                c1 = float(content_loss(fy[net.content_tap], fx[net.content_tap]))
            print(f"{name:14s} {path.split('/')[-1]:16s} {s0:17.3f} {s1:9.3f} {s0 / s1:5.1f}x {c1:12.2f}")


if __name__ == "__main__":
    main()
