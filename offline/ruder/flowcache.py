"""Optical flow between frame pairs of a job, computed once and cached on disk.

``flow(a, b)`` is the flow a->b on frame a's grid (``warp(frame_b, flow) ~= frame_a``, the
models.flow.estimators convention). ``weights(prev, cur)`` are Ruder et al.'s consistency weights on cur's
grid from the pair (cur->prev, prev->cur), the same check the live pipeline uses.

Cache files are KITTI 16-bit PNGs (``fwd_A_B.png``, :func:`models.flow.files.write_flow_png`): 1/64 px
steps, ~7x smaller than ``.flo`` (a 1080p pair of directions: ~4 MB instead of 33 MB; the
default long-term set needs 4 pairs per frame). A computed flow is used as read back from its
file, so an interrupted and resumed job sees exactly the flows an uninterrupted one does.
``fwd_A_B.flo`` files placed in ``flows/`` beforehand (e.g. ground truth), or left by jobs of
earlier versions, are used as they are and take precedence.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from models.flow.consistency import consistency_weights
from models.flow.files import read_flo, read_flow_png, write_flow_png
from models.flow.estimators import FlowEstimator
from offline.ruder.job import Job
from models.flow.warp import warp


def make_estimator(name: str) -> FlowEstimator:
    """``dis`` (OpenCV DIS medium, default) or ``deepflow`` (quality option, slower)."""
    from models.errors import UserError

    if name == "dis":
        from models.flow.estimators import DISConfig, DISFlow

        # Offline we can afford full resolution and the "medium" preset.
        return DISFlow(DISConfig(preset="medium", max_side=None))
    if name == "deepflow":
        from models.flow.deepflow import DeepFlow

        return DeepFlow()
    raise UserError(f"--flow: expected 'dis' or 'deepflow', got {name!r}")


class FlowCache:
    # Decoded flows kept in memory: a frame asks for the same pair up to three times (both
    # directions for the weights, one for the warp), and a PNG decode costs ~20 ms at 1024x436.
    MEMORY = 8

    def __init__(self, job: Job, estimator: FlowEstimator, device: torch.device | str = "cpu") -> None:
        self.job = job
        self.estimator = estimator
        self.device = torch.device(device)
        self._recent: OrderedDict[tuple[int, int], Tensor] = OrderedDict()

    def path(self, a: int, b: int) -> Path:
        """The cache file of flow a->b (``.png``; a ``.flo`` beside it wins, see the module doc)."""
        return self.job.root / "flows" / f"fwd_{a:06d}_{b:06d}.png"

    def flow(self, a: int, b: int) -> Tensor:
        """``(1,2,H,W)`` float32 on the cache's device. Treat it as read-only (it may be shared)."""
        hit = self._recent.get((a, b))
        if hit is not None:
            self._recent.move_to_end((a, b))
            return hit
        p = self.path(a, b)
        placed = p.with_suffix(".flo")
        if placed.exists():
            arr = read_flo(placed)
        else:
            if not p.exists():
                fa, fb = self.job.frame(a), self.job.frame(b)
                f = self.estimator(fa, fb)
                p.parent.mkdir(parents=True, exist_ok=True)
                write_flow_png(p, f[0].permute(1, 2, 0).float().cpu().numpy())
            arr = read_flow_png(p)
        arr = np.where(np.abs(arr) < 1e9, arr, 0.0).astype(np.float32)  # unknown -> 0 (weights mark it)
        flow = torch.from_numpy(arr).permute(2, 0, 1)[None].contiguous().to(self.device)
        self._recent[(a, b)] = flow
        if len(self._recent) > self.MEMORY:
            self._recent.popitem(last=False)
        return flow

    def weights(self, prev: int, cur: int) -> Tensor:
        """c(prev, cur) on cur's grid, ``(1,1,H,W)``; 1 = reliable."""
        return consistency_weights(self.flow(cur, prev), self.flow(prev, cur))

    def warp_to(self, image: Tensor, src: int, dst: int) -> Tensor:
        """Bring ``image`` (on frame src's grid) onto frame dst's grid."""
        return warp(image, self.flow(dst, src).to(image.device))
