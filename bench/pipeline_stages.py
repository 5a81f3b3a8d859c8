#!/usr/bin/env python3
"""Where the end-to-end time of models.gpu_pipeline.GpuPipeline goes, stage by stage.

gpu_bench's "end-to-end ms" at 1080p on an H100 was ~10 ms above the bare network call for every
backend (eager fp16: 22.2 -> 32.6 ms; compiled: 6.5 -> 17.1 ms), far more than a 6 MB upload and
download should cost. This times each stage on its own (synchronised, median of --iters) and
then profiles whole ``process`` calls with torch.profiler. Random-weight network (cost does not
depend on the weights); needs no av/aiortc. Also end to end with the temporal blend, with and
without TemporalBlender.prefetch (flow input queued ahead of the network, so the CPU flow
overlaps the GPU).

    python bench/pipeline_stages.py --device cuda --size 1920x1080
    .venv/bin/python bench/pipeline_stages.py --device cpu --size 160x120 --iters 3   # plumbing
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models.backends import build_backend  # noqa: E402
from models.cli.bench_harness import VARIANTS  # noqa: E402
from models.cli.bench_harness import moving_frames  # noqa: E402
from models.gpu_pipeline import GpuPipeline, frames_from_u8, frames_to_u8  # noqa: E402
from models.temporal.blender import TemporalBlender  # noqa: E402


class NoPrefetch:
    """A TemporalBlender seen without its ``prefetch``: the grey flow input is then made after
    the stylizer is queued, so its download waits for the network (the behaviour before)."""

    def __init__(self) -> None:
        self._b = TemporalBlender()

    def __call__(self, frame_in: torch.Tensor, stylized: torch.Tensor) -> torch.Tensor:
        return self._b(frame_in, stylized)
from models.nets.transformer import PRESETS, TransformerNet  # noqa: E402


def timed(fn: Callable[[], object], dev: torch.device, iters: int) -> float:
    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for _ in range(3):
        fn()
    sync()
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", default="1920x1080", help="WxH, as in the CLI")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--variants", nargs="+", default=["eager-fp16", "eager-fp32"])
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    w, h = (int(v) for v in args.size.split("x"))
    cuda = dev.type == "cuda"
    name = torch.cuda.get_device_name(dev) if cuda else "cpu"
    print(f"# {name}; torch {torch.__version__}; {h}x{w}; median of {args.iters}")
    frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    model = TransformerNet(PRESETS["standard"]).eval()
    rows: list[tuple[str, float]] = []
    pinned_in = torch.empty((1, h, w, 3), dtype=torch.uint8)
    pinned_out = torch.empty((1, h, w, 3), dtype=torch.uint8)
    if cuda:
        pinned_in, pinned_out = pinned_in.pin_memory(), pinned_out.pin_memory()
    host_in = pinned_in.numpy()
    rows.append(("host copy into the pinned buffer (numpy assignment)", timed(lambda: host_in.__setitem__(0, frame), dev, args.iters)))
    rows.append(("  same with np.copyto", timed(lambda: np.copyto(host_in[0], frame), dev, args.iters)))
    u8 = pinned_in.to(dev)
    rows.append(("upload (pinned -> device, 6 MB at 1080p)", timed(lambda: pinned_in.to(dev, non_blocking=True), dev, args.iters)))
    dtype = torch.float16 if cuda else torch.float32
    rows.append(("uint8 NHWC -> float CHW view (frames_from_u8)", timed(lambda: frames_from_u8(u8, dtype), dev, args.iters)))
    x = frames_from_u8(u8, dtype)
    rows.append(("float -> uint8 NHWC (frames_to_u8)", timed(lambda: frames_to_u8(x), dev, args.iters)))
    y8 = frames_to_u8(x)
    rows.append(("download (device -> pinned)", timed(lambda: pinned_out.copy_(y8, non_blocking=True), dev, args.iters)))
    rows.append(("host copy out of the pinned buffer (.numpy().copy())", timed(lambda: pinned_out.numpy().copy(), dev, args.iters)))
    for variant in args.variants:
        backend = build_backend(model, device=dev, height=h, width=w, **VARIANTS[variant])
        xc = x.contiguous(memory_format=torch.channels_last if backend.spec.channels_last else torch.contiguous_format)
        rows.append((f"{variant}: network on a prepared input", timed(lambda: backend(xc), dev, args.iters)))
        rows.append((f"{variant}: network on the pipeline's channels_last view", timed(lambda: backend(x), dev, args.iters)))
        pipe = GpuPipeline(backend, device=dev, dtype=backend.dtype)
        frames = {"s": frame}
        rows.append((f"{variant}: GpuPipeline.process (end to end)", timed(lambda: pipe.process(frames), dev, args.iters)))
        pan = moving_frames(h, w)
        for label, factory in (("no prefetch", NoPrefetch), ("prefetch", TemporalBlender)):
            tpipe = GpuPipeline(backend, device=dev, dtype=backend.dtype, blender_factory=factory)
            k = iter(range(10**9))
            ms = timed(lambda: tpipe.process({"s": pan[next(k) % len(pan)]}), dev, args.iters)
            rows.append((f"{variant}: end to end + temporal blend on a pan, {label}", ms))
        if not args.no_profile and cuda:
            from torch.profiler import ProfilerActivity, profile

            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                for _ in range(5):
                    pipe.process(frames)
                torch.cuda.synchronize(dev)
            print(f"\n## profile of 5 x process, {variant}: by self CPU time")
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10, max_name_column_width=48))
            print("## by device time")
            print(prof.key_averages().table(sort_by="self_device_time_total", row_limit=10, max_name_column_width=48))
    print("\n| stage | ms |\n|---|---:|")
    for k, v in rows:
        print(f"| {k} | {v:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
