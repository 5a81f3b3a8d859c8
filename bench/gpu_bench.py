#!/usr/bin/env python3
"""One-shot GPU benchmark for a GPU session: builds every backend, checks parity, times everything,
writes a markdown table to --out. Needs only torch (+ triton for compile) and numpy: it never
imports av/aiortc, works without torch-tensorrt (reported as unavailable), survives a failing
backend, and starts nothing after --budget-s (the table is rewritten after every item).

    python bench/gpu_bench.py --out $OUT/gpu_bench.md --budget-s 420
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout

from models.cli.cmd_bench import bench_main as main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--device" not in args:
        args = ["--device", "cuda", *args]
    if "--budget-s" not in args:
        args += ["--budget-s", "420"]
    sys.exit(main(args))
