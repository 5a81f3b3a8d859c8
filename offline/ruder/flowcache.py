"""Optical flow between frame pairs of a job, computed once and cached as ``.flo`` files.

``flow(a, b)`` is the flow a->b on frame a's grid (``warp(frame_b, flow) ~= frame_a``, the
models.flow convention). ``weights(prev, cur)`` are Ruder et al.'s consistency weights on cur's
grid from the pair (cur->prev, prev->cur), the same check the live pipeline uses. Files placed
in ``flows/`` beforehand (e.g. ground truth) are used as is.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from models.consistency import consistency_weights
from models.flo import read_flo, write_flo
from models.flow import FlowEstimator
from offline.ruder.job import Job
from models.warp import warp


def make_estimator(name: str) -> FlowEstimator:
    """``dis`` (OpenCV DIS medium, default) or ``deepflow`` (quality option, slower)."""
    from models.errors import UserError

    if name == "dis":
        from models.flow import DISConfig, DISFlow

        # Offline we can afford full resolution and the "medium" preset.
        return DISFlow(DISConfig(preset="medium", max_side=None))
    if name == "deepflow":
        from models.flow_deepflow import DeepFlow

        return DeepFlow()
    raise UserError(f"--flow: expected 'dis' or 'deepflow', got {name!r}")


class FlowCache:
    def __init__(self, job: Job, estimator: FlowEstimator, device: torch.device | str = "cpu") -> None:
        self.job = job
        self.estimator = estimator
        self.device = torch.device(device)

    def path(self, a: int, b: int) -> Path:
        return self.job.root / "flows" / f"fwd_{a:06d}_{b:06d}.flo"

    def flow(self, a: int, b: int) -> Tensor:
        p = self.path(a, b)
        if not p.exists():
            fa, fb = self.job.frame(a), self.job.frame(b)
            f = self.estimator(fa, fb)
            p.parent.mkdir(parents=True, exist_ok=True)
            write_flo(p, f[0].permute(1, 2, 0).float().cpu().numpy())
        arr = read_flo(p)
        arr = np.where(np.abs(arr) < 1e9, arr, 0.0).astype(np.float32)  # unknown -> 0 (weights mark it)
        return torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous().to(self.device)

    def weights(self, prev: int, cur: int) -> Tensor:
        """c(prev, cur) on cur's grid, ``(1,1,H,W)``; 1 = reliable."""
        return consistency_weights(self.flow(cur, prev), self.flow(prev, cur))

    def warp_to(self, image: Tensor, src: int, dst: int) -> Tensor:
        """Bring ``image`` (on frame src's grid) onto frame dst's grid."""
        return warp(image, self.flow(dst, src).to(image.device))
