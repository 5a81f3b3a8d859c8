#!/usr/bin/env python3
"""Cost of the L-BFGS update itself (not the loss network) at an image size, history 100:
torch.optim.LBFGS (two-loop recursion: a host sync per stored pair) versus
offline.ruder.lbfgs.CompactLBFGS (compact form, no per-pair sync), same run, same closure.

The closure is a cheap ill-conditioned image loss (deblurring), so the timing is the optimizer's overhead per
iteration, which the per-frame budget of `stylecast video --method ruder` (1000 iterations per
frame, target < 10 s at 1024x436 on an H100/H200) must also pay. Both run --fill iterations to fill the
100-pair memory, then --iters timed iterations (median of per-chunk times, 10 iterations per chunk).

    python bench/lbfgs_overhead.py --device cuda            # 1024x436
    python bench/lbfgs_overhead.py --device cpu --size 512x218 --fill 110 --iters 20
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offline.ruder.lbfgs import CompactLBFGS  # noqa: E402


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def run(kind: str, dev: torch.device, shape: tuple[int, ...], fill: int, iters: int) -> float:
    g = torch.Generator().manual_seed(0)
    target = torch.rand(shape, generator=g).to(dev)
    box = torch.full((3, 1, 9, 9), 1 / 81, device=dev)
    x = torch.zeros(shape, device=dev, requires_grad=True)

    def closure() -> torch.Tensor:
        # deblurring (ill-conditioned: keeps L-BFGS busy for hundreds of iterations with all 100
        # pairs in use) plus a small non-quadratic term; cheap next to VGG19
        x.grad = None
        blurred = torch.nn.functional.conv2d(x, box, padding=4, groups=3)
        loss = ((blurred - target) ** 2).mean() + 1e-3 * torch.sin(8 * x).pow(2).mean()
        loss.backward()
        return loss

    if kind == "torch":
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=10, max_eval=12, history_size=100, tolerance_grad=-1,
                                tolerance_change=-1, line_search_fn="strong_wolfe")
        step = lambda: opt.step(closure)  # noqa: E731
    else:
        mine = CompactLBFGS(x, history=100)
        step = lambda: mine.step(closure, max_iter=10, max_eval=12)  # noqa: E731
    for _ in range(fill // 10):
        step()
    if kind != "torch":
        assert mine.k == 100, f"history not full after {fill} iterations ({mine.k} pairs): raise --fill"
    times = []
    for _ in range(max(1, iters // 10)):
        _sync(dev)
        t0 = time.perf_counter()
        step()
        _sync(dev)
        times.append((time.perf_counter() - t0) / 10)
    return statistics.median(times) * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", default="1024x436", help="WxH, as in the CLI")
    ap.add_argument("--fill", type=int, default=110, help="iterations before timing (fills the 100 pairs)")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == "cpu":
        torch.set_num_threads(a.threads)
    w, h = (int(v) for v in a.size.split("x"))
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    print(f"# {name}; torch {torch.__version__}; x = 1x3x{h}x{w} float32; history 100; "
          f"{a.fill} fill iterations, median over chunks of 10 of {a.iters} timed iterations")
    t_torch = run("torch", dev, (1, 3, h, w), a.fill, a.iters)
    t_compact = run("compact", dev, (1, 3, h, w), a.fill, a.iters)
    print("| optimizer | ms / iteration (incl. a cheap closure) |")
    print("|---|---:|")
    print(f"| torch.optim.LBFGS (two-loop) | {t_torch:.2f} |")
    print(f"| CompactLBFGS | {t_compact:.2f} |")
    print(f"speed-up: {t_torch / t_compact:.2f}x; per 1000-iteration frame: {t_torch:.0f} s -> {t_compact:.0f} s of optimizer time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
