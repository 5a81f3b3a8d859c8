#!/usr/bin/env python3
"""The style network on the CPU: eager fp32 vs torch.compile fp32 vs torch.compile bf16 (autocast),
ms per frame at three sizes, and the bf16 output's difference to fp32 eager.

    python bench/cpu_compile.py [--threads 2] [--style starry_night]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.styles.registry import load_stylizer  # noqa: E402


def bench(f, x: torch.Tensor, n: int = 6) -> float:
    with torch.inference_mode():
        f(x)
        f(x)
        t = time.perf_counter()
        for _ in range(n):
            f(x)
        return (time.perf_counter() - t) / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--style", default="starry_night")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    net = load_stylizer(args.style, device="cpu").eval()
    cnet = torch.compile(net, dynamic=False)
    print("| size | threads | eager fp32 ms | compiled fp32 ms | compiled bf16 ms | bf16 max / mean abs diff |")
    print("|---|---|---|---|---|---|")
    for h, w in [(480, 640), (360, 480), (240, 320)]:
        x = torch.rand(1, 3, h, w)

        def bf(x: torch.Tensor) -> torch.Tensor:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return cnet(x)

        with torch.inference_mode():
            d = (net(x) - bf(x).float()).abs()
        print(f"| {w}x{h} | {args.threads} | {bench(net, x):.1f} | {bench(cnet, x):.1f} | {bench(bf, x):.1f} | "
              f"{float(d.max()):.4f} / {float(d.mean()):.4f} |", flush=True)


if __name__ == "__main__":
    main()
