#!/usr/bin/env python3
"""`stylecast live --sink null` at a given size: ms per frame end to end, the way the CLI runs it.

The CLI's own objects: the style network wrapped by models.backends.accelerated.accelerate (auto:
TensorRT > compile > eager, built on the first frame), stream.loop.LiveLoop with its FrameEngine
(upload, render scale, network, temporal step, guided upsampling, download) and the null sink;
the source is a set of pre-rendered test-pattern frames at the requested size (the CLI's pattern
source is 640x480 and renders in numpy, a file source needs PyAV, absent on the GPU image).
Variants, measured in one run: the device's default render scale and full size (the baseline);
each with temporal on. Warm-up frames (the backend build) are excluded.

    python bench/live_engine.py [--device cuda] [--size 1920x1080] [--preset standard]
        [--frames 300] [--backend auto] [--scales default,1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.backends.accelerated import accelerate  # noqa: E402
from models.backends.synthetic import synthetic_style_net  # noqa: E402
from models.contracts import default_dtype  # noqa: E402
from models.guided import RenderScale  # noqa: E402
from models.cli.render import default_render  # noqa: E402
from models.temporal.blender import TemporalConfig  # noqa: E402
from stream.loop import LiveLoop, LoopConfig  # noqa: E402
from stream.sinks import open_sink  # noqa: E402
from stream.sources import PatternSource  # noqa: E402


class Frames:
    """A non-device source cycling pre-rendered frames."""

    is_device = False

    def __init__(self, imgs: list[np.ndarray], n: int) -> None:
        self.imgs, self.n, self.i, self.fps, self.name = imgs, n, 0, 30.0, "frames"

    def read(self):  # type: ignore[no-untyped-def]
        if self.i >= self.n:
            return None
        self.i += 1
        return self.imgs[self.i % len(self.imgs)]

    def close(self) -> None:
        pass


def measure(net, imgs, render: RenderScale, args) -> tuple[float, dict[str, float]]:  # type: ignore[no-untyped-def]
    stylizer = accelerate(net, kind=args.backend, device=args.device, report=lambda m: print(f"  {m}"))
    warm = args.warmup
    loop = LiveLoop(Frames(imgs, warm + args.frames), open_sink("null", fps=30.0), stylizer,
                    config=LoopConfig(max_frames=warm + args.frames), device=args.device,
                    dtype=default_dtype(args.device), render=render)
    loop.temporal = loop.engine.blender(TemporalConfig())
    stamps: list[float] = []
    loop.on_frame = lambda stats: stamps.append(time.perf_counter())
    stats = loop.run()
    steady = stamps[warm:]
    ms = (steady[-1] - steady[0]) / max(len(steady) - 1, 1) * 1e3
    stages = stats.recent_stage_ms()
    return ms, stages


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--preset", default="standard", choices=("standard", "light"))
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--scales", default="default,1")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    pat = PatternSource(size=(h, w))
    imgs = [np.ascontiguousarray(pat.read()) for _ in range(16)]
    net = synthetic_style_net(args.preset, seed=0).to(args.device, default_dtype(args.device))
    gpu = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    print(f"# live engine: {gpu}, torch {torch.__version__}, {args.size}, {args.preset} net, backend {args.backend}, "
          f"temporal on, {args.frames} frames after {args.warmup} warm-up, load {os.getloadavg()[0]:.1f}")
    print("| render | ms per frame | fps | stages (ms, recent mean) |")
    print("|---|---|---|---|")
    base = None
    for s in args.scales.split(","):
        render = default_render(args.device) if s == "default" else RenderScale(scale=float(s))
        nh, nw = render.size(h, w)
        ms, stages = measure(net, imgs, render, args)
        base = base or ms
        st = " ".join(f"{k} {v:.2f}" for k, v in stages.items() if v)
        print(f"| {s} (network {nw}x{nh}) | {ms:.2f} | {1e3 / ms:.1f} | {st} |", flush=True)
    print(f"(first row / baseline row ratio is printed per row above; baseline {base:.2f} ms)")


if __name__ == "__main__":
    main()
