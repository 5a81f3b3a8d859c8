#!/usr/bin/env python3
"""Seconds per frame of the offline methods at a given size (default 1024x436, Sintel):
per-frame optimization (L-BFGS and Adam, temporal loss with 3 long-term targets, VGG19 all
taps) and the fast method (feed-forward net + bidirectional blend), on CUDA (bf16 autocast of
the loss network) or CPU. Does not import av/aiortc; uses random-content frames of the given
size, so no data is needed except VGG19 weights (--loss-weights / $STYLECAST_VGG19_WEIGHTS;
without them a randomly initialised VGG19 of the same cost is used and flagged).

    python bench/ruder_gpu.py --device cuda                # 1024x436, 100 iterations
    python bench/ruder_gpu.py --device cpu --size 128x64 --iterations 5
    python bench/ruder_gpu.py --device cuda --iterations 1000 --optimizers lbfgs --no-fast  # the default
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from models.losses.networks import build_loss_network  # noqa: E402
from models.nets.transformer import PRESETS, TransformerNet  # noqa: E402
from models.flow.warp import blend, warp  # noqa: E402
from models.flow.consistency import consistency_weights  # noqa: E402
from offline.ruder.config import OptimConfig  # noqa: E402
import offline.ruder.optimize as om  # noqa: E402
from offline.ruder.optimize import FrameOptimizer, random_init  # noqa: E402
from offline.ruder.temporal_loss import TemporalTarget  # noqa: E402

SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


# name -> (description, OptimConfig.channels_last, TF32 Gram matmuls, cudnn.benchmark, bf16 autocast)
VARIANTS = {
    "default": ("channels_last + TF32 Grams (the shipped settings)", True, True, False, True),
    "default+cudnn-bench": ("the same + torch.backends.cudnn.benchmark", True, True, True, True),
    "nchw": ("NCHW input, TF32 Grams", False, True, False, True),
    "before": ("NCHW, fp32 Grams (the code before this change, less 5 host syncs per evaluation)", False, False, False, True),
    "fp32": ("no autocast: the loss network in fp32 (does bf16 cost quality? compare the fp32-evaluated loss)",
             False, False, False, False),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", default="1024x436", help="WxH, as in the CLI")
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--loss-weights", default=os.environ.get("STYLECAST_VGG19_WEIGHTS",
                    str(SHARED / "weights/vgg19_imagenet_features.fp16.safetensors")))
    ap.add_argument("--optimizers", nargs="+", choices=("lbfgs", "adam"), default=["lbfgs", "adam"])
    ap.add_argument("--no-fast", action="store_true", help="skip the feed-forward row")
    ap.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["default"],
                    help="loss-network layouts to time (CUDA): " + "; ".join(f"{k}: {v[0]}" for k, v in VARIANTS.items()))
    ap.add_argument("--no-autocast", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 avoids OpenMP contention on shared machines)")
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    w, h = (int(v) for v in args.size.split("x"))
    if dev.type == "cpu":
        torch.set_num_threads(args.threads)
    weights = args.loss_weights if Path(args.loss_weights).is_file() else None
    if weights:
        net = build_loss_network("vgg19", weights=weights)
    else:  # same FLOPs, untrained: timings only
        import models.losses.networks as ln
        import models.losses.vgg as lv
        trunk, index = lv.build_features("vgg19")
        style, content = lv.DEFAULT_TAPS["vgg19"]
        net = ln.LossNetwork("vgg19", trunk, list(index), [*style, content], style, content, lv.MEAN, lv.STD)
        net._vgg_index = index
    net = net.to(dev)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
    print(f"# device={name} size={w}x{h} iterations={args.iterations} torch={torch.__version__} "
          f"autocast={'off' if args.no_autocast else 'bf16 (cuda only)'} vgg_weights={'real' if weights else 'RANDOM'}")
    real_tf32 = om.tf32_matmul
    g = torch.Generator().manual_seed(0)
    content = torch.rand(1, 3, h, w, generator=g).to(dev)
    style = torch.rand(1, 3, h, w, generator=g).to(dev)
    flow = torch.zeros(1, 2, h, w, device=dev)
    flow[:, 0] = 1.5
    c = consistency_weights(flow, -flow)
    prev = torch.rand(1, 3, h, w, generator=g).to(dev)
    targets = [TemporalTarget(warped=warp(prev, flow), weight=c) for _ in range(3)]
    # Every result is also scored by one fp32 evaluator, so variants that compute in other
    # precisions are compared on the same scale (the "final loss" column is each run's own).
    judge = FrameOptimizer(net, style, OptimConfig(autocast=False, tol=0.0), style_taps=net.style_taps,
                           content_tap=net.content_tap, content_size=(h, w))
    judge_target = judge.content_target(content)
    print("| method | s/frame | final loss | fp32-evaluated loss |")
    print("|---|---:|---:|---:|")
    for variant in args.variants:
        _, channels_last, tf32, cudnn_bench, autocast = VARIANTS[variant]
        torch.backends.cudnn.benchmark = cudnn_bench
        om.tf32_matmul = real_tf32 if tf32 else (lambda enabled: contextlib.nullcontext())
        for optimizer in args.optimizers:
            cfg = OptimConfig(iterations=args.iterations, optimizer=optimizer, tol=0.0,
                              autocast=autocast and not args.no_autocast, channels_last=channels_last)
            opt = FrameOptimizer(net, style, cfg, style_taps=net.style_taps, content_tap=net.content_tap, content_size=(h, w))
            opt.run(content, content, targets, iterations=2)  # warm-up (cuDNN autotune, allocator)
            sync(dev)
            t0 = time.perf_counter()
            out, terms = opt.run(content, random_init((1, 3, h, w), seed=0, device=dev), targets, iterations=args.iterations)
            sync(dev)
            dt = time.perf_counter() - t0
            with torch.no_grad():
                judged = judge.losses(out, judge_target, targets)[1].total
            print(f"| ruder {optimizer}, {args.iterations} it, 3 temporal targets, {variant} | {dt:.2f} | "
                  f"{terms.total:.5g} | {judged:.5g} |", flush=True)
    om.tf32_matmul = real_tf32
    torch.backends.cudnn.benchmark = False
    if args.no_fast:
        return 0
    model = TransformerNet(PRESETS["standard"]).to(dev).eval()
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    model = model.to(dtype)
    with torch.no_grad():
        for _ in range(2):
            model(content.to(dtype))
        sync(dev)
        t0 = time.perf_counter()
        n = 10
        for _ in range(n):
            s = model(content.to(dtype)).float()
            # forward and backward recursion + average: two warps, two consistency checks, two blends
            for _d in range(2):
                s = blend(s, warp(prev, flow), consistency_weights(flow, -flow), strength=0.7)
        sync(dev)
        dt = (time.perf_counter() - t0) / n
    print(f"| fast (TransformerNet standard + bidirectional blend, no flow estimation) | {dt:.4f} | - | - |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
