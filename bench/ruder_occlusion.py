#!/usr/bin/env python3
"""Consistency weights (Ruder et al. 2016) vs MPI-Sintel ground-truth occlusions.

For each scene in ../shared/data/flow/sintel (frame 2 -> 3; occlusions/ and invalid/ masks of
frame 2), estimate both flows with each estimator, compute the weights on frame 2's grid and
report precision / recall of "unreliable" (c = 0) as an occlusion detector over valid pixels,
for the full check (disocclusion + motion boundary + out of frame, what the pipelines use) and
for the disocclusion test alone. Also the end-point error of the 2->3 flow on non-occluded
pixels. Chance precision = the occluded fraction. No av/aiortc imports.

    python bench/ruder_occlusion.py [--estimators dis,deepflow] [--passes clean,final]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from models.flow.consistency import consistency_weights, disocclusion  # noqa: E402
from models.flow.files import read_flo  # noqa: E402
from models.flow.warp import inside_mask  # noqa: E402
from offline.ruder.flowcache import make_estimator  # noqa: E402
from offline.ruder.job import read_png, u8_to_tensor  # noqa: E402

SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))


def pr(unreliable: np.ndarray, occ: np.ndarray, valid: np.ndarray) -> tuple[float, float]:
    u, o = unreliable & valid, occ & valid
    tp = (u & o).sum()
    return tp / max(u.sum(), 1), tp / max(o.sum(), 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sintel", default=str(SHARED / "data/flow/sintel"))
    ap.add_argument("--estimators", default="dis,deepflow")
    ap.add_argument("--passes", default="clean,final")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    print("| scene | pass | flow | EPE noc (px) | occluded % | P full | R full | P disocc | R disocc | flow s (2 dirs) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for scene in sorted(p for p in Path(args.sintel).iterdir() if p.is_dir()):
        gt = read_flo(scene / "flow" / "frame_0002.flo")
        occ = cv2.imread(str(scene / "occlusions" / "frame_0002.png"), 0) > 127
        valid = cv2.imread(str(scene / "invalid" / "frame_0002.png"), 0) <= 127
        for kind in args.passes.split(","):
            f2 = u8_to_tensor(read_png(scene / kind / "frame_0002.png"))
            f3 = u8_to_tensor(read_png(scene / kind / "frame_0003.png"))
            for name in args.estimators.split(","):
                est = make_estimator(name)
                t0 = time.perf_counter()
                w23, w32 = est(f2, f3), est(f3, f2)  # on frame 2's grid: flow_bwd = 2->3
                secs = time.perf_counter() - t0
                c = consistency_weights(w23, w32)[0, 0].numpy()
                dis = (disocclusion(w23, w32)[0, 0] | (inside_mask(w23)[0, 0] == 0)).numpy()
                epe = np.linalg.norm(w23[0].permute(1, 2, 0).numpy() - gt, axis=-1)[valid & ~occ].mean()
                p_full, r_full = pr(c < 0.5, occ, valid)
                p_dis, r_dis = pr(dis, occ, valid)
                print(f"| {scene.name} | {kind} | {name} | {epe:.2f} | {100 * occ[valid].mean():.1f} | "
                      f"{p_full:.2f} | {r_full:.2f} | {p_dis:.2f} | {r_dis:.2f} | {secs:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
