"""Training throughput (images/s) per loss network and precision: TransformerNet + loss net fwd/bwd + Adam.

The step is the one `stylecast train` runs (models/training/loop.py): style Grams precomputed once, the
content features under no_grad, autocast on CUDA (bf16, or fp16 + GradScaler), NCHW (`+cl`
variants: channels_last, which `stylecast train` dropped after this script measured it slower).
Every variant is timed in the same run; the table gives images/s and the speed-up against the
first variant (fp32 unless told otherwise). VGG weights are random here: cost does not depend on
their values. Issue #8 reference (H200, standard, 256 px, batch 64, bf16): ~480 img/s with VGG19
to relu4_1, ~640 with EfficientNet-Lite0.

    .venv/bin/python bench/train_speed.py --size 128 --batch 2 --steps 3 --threads 1     # CPU
    python bench/train_speed.py --device cuda --preset standard --size 256 --batch 16 64 \\
        --variants fp32 bf16 bf16+cl --loss-nets vgg19_relu4_1 efficientnet_lite0      # GPU
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere


def _net(name: str):
    from models.losses import vgg
    from models.losses.networks import LossNetwork, build_loss_network

    if name == "efficientnet_lite0":
        return build_loss_network(name)
    base, _, cut = name.partition("_")  # vgg19_relu4_1: style relu1_1..relu4_1, content relu4_1 (#8's set-up)
    trunk, index = vgg.build_features(base)
    style, content = vgg.DEFAULT_TAPS[base]
    if cut:
        style = tuple(t for t in style if index[t] <= index[cut])
        content = cut if index[content] > index[cut] else content
    return LossNetwork(name, trunk, list(index), [*style, content], style, content, vgg.MEAN, vgg.STD,
                       vgg_index=index)


def _time_variant(net, preset: str, dev: torch.device, batch: int, size: int, steps: int, variant: str) -> float:
    from models.losses.functional import content_loss, gram, style_loss
    from models.nets.transformer import PRESETS, TransformerNet

    amp = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[variant.split("+")[0]]
    cl = variant.endswith("+cl")
    model = TransformerNet(PRESETS[preset]).to(dev)
    fmt = torch.channels_last if cl else torch.contiguous_format
    model, net = model.to(memory_format=fmt), net.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    scaler = torch.amp.GradScaler(enabled=amp is torch.float16)
    x = torch.rand(batch, 3, size, size, device=dev).contiguous(memory_format=fmt)
    with torch.no_grad():
        targets = {k: gram(v[:1]) for k, v in net(x).items() if k in net.style_taps}
    times = []
    for i in range(steps + 2):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast(dev.type, dtype=amp or torch.float32, enabled=amp is not None):
            y = model.forward_unclamped(x)
            fy = net(y)
            with torch.no_grad():
                fx = net(x)
            loss = content_loss(fy[net.content_tap], fx[net.content_tap]) + style_loss(
                {k: fy[k] for k in net.style_taps}, targets)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        if i >= 2:  # two warm-up steps (cuDNN autotune, allocator)
            times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, nargs="+", default=[2])
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--preset", default="light")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--variants", nargs="+", default=["fp32"], help="fp32 | bf16 | fp16, optionally +cl (channels_last)")
    ap.add_argument("--loss-nets", nargs="+", default=["vgg16", "vgg19", "efficientnet_lite0"])
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; preset={a.preset} size={a.size}; median of {a.steps} steps")
    print(f"{'loss net':20s} {'batch':>5s} {'variant':>9s} {'ms/step':>9s} {'img/s':>8s} {'vs first':>8s}")
    for ln in a.loss_nets:
        net = _net(ln).to(dev)
        for batch in a.batch:
            base = None
            for variant in a.variants:
                s = _time_variant(net, a.preset, dev, batch, a.size, a.steps, variant)
                base = base or s
                print(f"{ln:20s} {batch:5d} {variant:>9s} {s * 1000:9.1f} {batch / s:8.1f} {base / s:7.2f}x", flush=True)


if __name__ == "__main__":
    main()
