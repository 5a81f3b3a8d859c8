#!/usr/bin/env python3
"""CPU benchmark (light preset, 320x240 and 640x480): `python bench/cpu_bench.py [--out FILE]`.
The CPU may be shared with other work: figures are noisy, compare only within one run."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.cli.cmd_bench import bench_main as main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["--device", "cpu", *sys.argv[1:]]))
