"""Latency of the live loop with a slow stylizer: bounded, not growing; drops reported.

A 30 fps paced source (the test pattern, ``realtime``) feeds a fake stylizer that takes 100 ms
per frame (a timed wait, so the figure does not depend on CPU load). The baseline, measured in
the same run, is a naive FIFO pipeline (unbounded queue between capture and model), which is
what the one-slot mailbox replaces: its latency grows by ~(100 - 33) ms every frame.

    .venv/bin/python bench/live_latency.py [--frames 300] [--model-ms 100] [--fps 30]
"""
from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stream.loop import LiveLoop, LoopConfig  # noqa: E402
from stream.sinks import NullSink  # noqa: E402
from stream.sources import PatternSource  # noqa: E402


def slow_stylizer(ms: float):  # type: ignore[no-untyped-def]
    ev = threading.Event()

    def f(x: torch.Tensor) -> torch.Tensor:
        ev.wait(ms / 1000.0)
        return 1.0 - x

    return f


def naive_fifo(frames: int, fps: float, ms: float) -> list[float]:
    """Capture thread -> unbounded queue -> model: every frame processed, latency in ms."""
    q: queue.Queue = queue.Queue()
    src = PatternSource(size=(120, 160), fps=fps, n=frames)
    model = slow_stylizer(ms)

    def capture() -> None:
        t0 = time.perf_counter()
        for i in range(frames):
            delay = t0 + i / fps - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            q.put((time.perf_counter(), src.read()))
        q.put(None)

    th = threading.Thread(target=capture)
    th.start()
    lat = []
    while (item := q.get()) is not None:
        t_cap, img = item
        model(torch.from_numpy(img).float())
        lat.append(1000 * (time.perf_counter() - t_cap))
    th.join()
    return lat


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300, help="source frames (30 fps -> 10 s)")
    ap.add_argument("--model-ms", type=float, default=100.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--skip-baseline", action="store_true")
    args = ap.parse_args()

    src = PatternSource(size=(120, 160), fps=args.fps, n=args.frames)
    stats = LiveLoop(src, NullSink(), slow_stylizer(args.model_ms), config=LoopConfig(realtime=True)).run()
    lat = np.array(stats.latencies_ms)
    k = max(len(lat) // 5, 1)
    print(f"source {args.fps:g} fps x {args.frames} frames, stylizer {args.model_ms:g} ms/frame, 160x120 frames\n")
    print("| pipeline | frames out | dropped | latency first 20 % (ms) | last 20 % (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| live loop (one-slot, latest wins) | {stats.processed} | {stats.dropped} | {lat[:k].mean():.0f} | "
          f"{lat[-k:].mean():.0f} | {np.percentile(lat, 95):.0f} | {lat.max():.0f} |")
    if not args.skip_baseline:
        nl = np.array(naive_fifo(args.frames, args.fps, args.model_ms))
        k2 = max(len(nl) // 5, 1)
        print(f"| baseline: unbounded FIFO | {len(nl)} | 0 | {nl[:k2].mean():.0f} | {nl[-k2:].mean():.0f} | "
              f"{np.percentile(nl, 95):.0f} | {nl.max():.0f} |")
        print(f"\nlast-20 % latency ratio FIFO / live loop: {nl[-k2:].mean() / lat[-k:].mean():.1f}x")
    bound = args.model_ms + 1000.0 / args.fps
    print(f"expected bound for the live loop: model time + one capture interval = {bound:.0f} ms "
          f"(+ at most one frame in flight while the next waits: {2 * args.model_ms + 1000 / args.fps:.0f} ms worst case)")
    print("per-stage mean (ms): " + ", ".join(f"{k} {v:.1f}" for k, v in stats.summary().items() if k.endswith("_ms")
                                                 and not k.startswith("latency")))


if __name__ == "__main__":
    main()
