#!/usr/bin/env python3
"""Size and write/read time of one cached optical flow: Middlebury .flo (float32) against the
KITTI 16-bit PNG the offline job now writes (models.flow.files), on a real DIS flow between two Sintel
frames at full size (1024x436). Prints a markdown table; also the quantisation error.

    .venv/bin/python bench/flow_cache.py            # needs ../shared (Sintel mountain_2)
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from models.flow.files import read_flo, read_flow_png, write_flo, write_flow_png  # noqa: E402
from models.flow.estimators import DISConfig, DISFlow  # noqa: E402
from models.io.image import read_image, to_tensor  # noqa: E402

SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))


def ms(fn, n: int) -> float:
    fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", nargs=2, default=[str(SHARED / "data/video/sintel_mountain_2/frame_0001.png"),
                                                  str(SHARED / "data/video/sintel_mountain_2/frame_0002.png")])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    a, b = (to_tensor(read_image(p)) for p in args.frames)
    dis = DISFlow(DISConfig(preset="medium", max_side=None))  # what offline/ruder/flowcache.py uses
    flow = dis(a, b)[0].permute(1, 2, 0).numpy()
    h, w = flow.shape[:2]
    d = Path(tempfile.mkdtemp())
    print(f"# {h}x{w} DIS medium flow (max |flow| {np.abs(flow).max():.1f} px); torch threads {args.threads}; "
          f"median of {args.reps}; DIS itself {ms(lambda: dis(a, b), 3):.1f} ms")
    print("| format | bytes | vs .flo | write ms | read ms | max error px |\n|---|---:|---:|---:|---:|---:|")
    rows = (("Middlebury .flo (float32)", d / "f.flo", write_flo, read_flo),
            ("KITTI 16-bit PNG (1/64 px)", d / "f.png", write_flow_png, read_flow_png))
    base = None
    for name, path, write, read in rows:
        write_ms = ms(lambda: write(path, flow), args.reps)
        read_ms = ms(lambda: read(path), args.reps)
        size = path.stat().st_size
        base = base or size
        err = float(np.abs(read(path) - flow).max())
        print(f"| {name} | {size} | {size / base:.1%} | {write_ms:.1f} | {read_ms:.1f} | {err:.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
