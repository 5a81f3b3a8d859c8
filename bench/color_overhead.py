"""What colour preservation (models.nets.color) adds to a style network's forward pass.

Times the bundled udnie network alone and wrapped in ColorPreserving at each size, in the same
run (median of --iters calls after a warm-up), and prints the ratio.

    .venv/bin/python bench/color_overhead.py [--device cpu] [--sizes 320x240 640x480] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.nets.color import ColorPreserving  # noqa: E402
from models.contracts import default_dtype  # noqa: E402
from models.styles.registry import load_stylizer  # noqa: E402


def _time(fn, x: torch.Tensor, iters: int) -> float:
    times = []
    with torch.inference_mode():
        fn(x)
        for _ in range(iters):
            if x.is_cuda:
                torch.cuda.synchronize()
            t = time.perf_counter()
            fn(x)
            if x.is_cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", nargs="+", default=["320x240", "640x480"])
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    net = load_stylizer("udnie", device=dev, preserve_color=0)
    wrapped = ColorPreserving(net).to(dev, default_dtype(dev))
    print(f"torch {torch.__version__}, {dev}, {torch.get_num_threads()} threads, dtype {default_dtype(dev)}")
    print("| size | network ms | + colour ms | colour share |")
    print("|---|---:|---:|---:|")
    for s in a.sizes:
        w, h = map(int, s.split("x"))
        x = torch.rand(1, 3, h, w, device=dev, dtype=default_dtype(dev))
        t0, t1 = _time(net, x, a.iters), _time(wrapped, x, a.iters)
        print(f"| {w}x{h} | {t0:.1f} | {t1:.1f} | {(t1 - t0) / t0:+.1%} |")


if __name__ == "__main__":
    main()
