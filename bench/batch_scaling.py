#!/usr/bin/env python3
"""Wall time of one ``stylecast batch`` (the CLI path) with 1 and 2 Ray workers on this machine,
and the one-process batch as the baseline, all in the same run. Ray is started once (like a
running cluster), so the times are the batch's own: actor start, network load, decode, stylize,
join, encode. Prints a markdown table and the 1->2 worker ratio.

    .venv/bin/python bench/batch_scaling.py        # 4 real clips, fast method, 40 frames, 256 px
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.cli import main as cli  # noqa: E402

SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))
CLIPS = ("nature_forest_hikers.mp4", "zoomlike_dashcam.mp4", "static_marathon.mkv", "handheld_selfie_face.mp4")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=40)
    p.add_argument("--max-side", type=int, default=256)
    a = p.parse_args()
    clips = [SHARED / "data/video/clips" / c for c in CLIPS if (SHARED / "data/video/clips" / c).exists()]
    if not clips:
        print(f"no clips under {SHARED}/data/video/clips; set STYLECAST_SHARED")
        return 1
    import ray
    import torch

    torch.set_num_threads(1)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False)
    common = ["--method", "fast", "--device", "cpu", "--max-frames", str(a.frames), "--max-side", str(a.max_side)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("one process (no Ray)", []), ("Ray, 1 worker", ["--ray", "auto", "--workers", "1"]),
                            ("Ray, 2 workers", ["--ray", "auto", "--workers", "2"])):
            out = Path(tmp) / name.replace(" ", "_")
            shutil.rmtree(out, ignore_errors=True)
            t0 = time.perf_counter()
            assert cli(["batch", *map(str, clips), "-o", str(out), *common, *extra]) == 0
            rows.append((name, time.perf_counter() - t0))
    ray.shutdown()
    print(f"\n{len(clips)} clips x {a.frames} frames at max side {a.max_side}, method fast, 1 torch thread per worker\n")
    print("| run | wall s | vs 1 worker |")
    print("|---|---|---|")
    one = rows[1][1]
    for name, wall in rows:
        print(f"| {name} | {wall:.1f} | {one / wall:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
