"""Training-step cost per loss network: TransformerNet (light/standard) + loss net fwd/bwd + Adam.

Prints seconds per step and the ratio against VGG16 (Johnson et al.'s loss network) measured in
the same run. VGG weights are random here: the cost does not depend on their values.

    .venv/bin/python bench/train_speed.py --size 128 --batch 2 --steps 5 [--device cuda] [--threads 1]
"""
from __future__ import annotations

import argparse
import time

import torch


def _net(name: str):
    from models import lossnets_vgg as vgg
    from models.lossnets import LossNetwork, build_loss_network

    if name == "efficientnet_lite0":
        return build_loss_network(name)
    trunk, index = vgg.build_features(name)
    style, content = vgg.DEFAULT_TAPS[name]
    return LossNetwork(name, trunk, list(index), [*style, content], style, content, vgg.MEAN, vgg.STD,
                       vgg_index=index)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--preset", default="light")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    from models.losses import content_loss, gram, style_loss
    from models.transformer import PRESETS, TransformerNet

    dev = torch.device(a.device)
    amp = torch.bfloat16 if dev.type == "cuda" else None
    results = {}
    for name in ("vgg16", "vgg19", "efficientnet_lite0"):
        net = _net(name).to(dev)
        model = TransformerNet(PRESETS[a.preset]).to(dev)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        x = torch.rand(a.batch, 3, a.size, a.size, device=dev)
        with torch.no_grad():
            targets = {k: gram(v[:1]) for k, v in net(x).items() if k in net.style_taps}
        times = []
        for i in range(a.steps + 1):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            with torch.autocast(dev.type, dtype=amp, enabled=amp is not None):
                y = model.forward_unclamped(x)
                fy = net(y)
                with torch.no_grad():
                    fx = net(x)
                loss = content_loss(fy[net.content_tap], fx[net.content_tap]) + style_loss(
                    {k: fy[k] for k in net.style_taps}, targets)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if i:  # first step is warm-up
                times.append(time.perf_counter() - t)
        results[name] = sorted(times)[len(times) // 2]
    base = results["vgg16"]
    print(f"device={a.device} threads={torch.get_num_threads()} preset={a.preset} size={a.size} batch={a.batch}")
    for name, s in results.items():
        print(f"{name:20s} {s * 1000:8.1f} ms/step  {base / s:5.2f}x vs vgg16")


if __name__ == "__main__":
    main()
