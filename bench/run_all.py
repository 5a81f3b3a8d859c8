#!/usr/bin/env python3
"""`make bench`: the CPU benchmark set, one script after another, each printing its own table.

Every script measures its baseline in the same run (ratios, not absolute times, are the
figures to compare across machines). The long ones (bench/live_quality.py, bench/ruder_*.py,
bench/faces_*.py) and the GPU ones (bench/gpu_bench.py, ``--device cuda`` variants) are run by
hand; see docs/benchmarks.md. Scripts that need ../shared skip themselves when it is absent.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# (script, arguments, needs ../shared)
SUITE: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("cpu_bench.py", ("--iters", "10", "--budget-s", "240"), False),
    ("live_overhead.py", (), False),
    ("live_latency.py", (), False),
    ("live_flow.py", (), True),
    ("webrtc_latency.py", ("--seconds", "6", "--max-viewers", "6"), False),
    ("webrtc_janus.py", (), False),  # needs janus + root (network namespace); skips itself otherwise
    ("train_speed.py", ("--size", "128", "--batch", "2", "--steps", "5"), False),
)


def main() -> int:
    failed = []
    for script, args, needs_shared in SUITE:
        if needs_shared and not SHARED.exists():
            print(f"== {script}: skipped ({SHARED} not found)\n", flush=True)
            continue
        print(f"== {script} {' '.join(args)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT)
        print(f"== {script}: exit {rc}, {time.perf_counter() - t0:.0f} s\n", flush=True)
        if rc != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
