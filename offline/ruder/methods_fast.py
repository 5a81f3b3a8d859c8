"""Fast method for long recordings: a trained feed-forward style network per frame, then
bidirectional flow-based temporal consistency.

A causal filter (the live pipeline's blend, ``models.flow.warp.blend``) lags: a frame only agrees
with the past. Offline we also know the future, so we run the recursive blend
    F_i = blend(S_i, warp(F_{i-1}), c(i-1,i)),  B_i = blend(S_i, warp(B_{i+1}), c(i+1,i))
forward and backward and average the two, which is symmetric in time (no lag) and keeps the
occlusion handling of the consistency weights (c = 0 -> the fresh stylization S_i).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from tqdm import tqdm

from models.engine import FrameEngine
from models.guided import RenderScale
from models.flow.warp import blend
from offline.ruder.config import FastConfig
from offline.ruder.flowcache import FlowCache
from offline.ruder.job import Job
from offline.ruder.methods import FrameHook


# Progress-bar label of each stage (the stage names are the job directory's folder names).
_LABELS = {"styl": "fast 1/4 stylize", "fwd": "fast 2/4 forward filter", "bwd": "fast 3/4 backward filter",
           "fast": "fast 4/4 average"}


def run_fast(job: Job, flows: FlowCache, stylizer: Callable[[Tensor], Tensor], cfg: FastConfig, *,
             device: torch.device | str = "cpu", on_frame: FrameHook | None = None) -> str:
    n = job.n_frames
    # float32 like the job's frames; the engine is what every app runs (render scale included)
    engine = FrameEngine(device=device, dtype=torch.float32,
                         render=RenderScale(scale=cfg.render_scale, max_side=cfg.render_max_side))

    def each(stage: str, order: range, fn: Callable[[int], Tensor]) -> None:
        for i in tqdm(order, desc=_LABELS.get(stage, stage), unit="frame", dynamic_ncols=True):
            if not job.has_result(stage, i):
                job.save_result(stage, i, fn(i))
                if on_frame is not None:
                    on_frame(stage, i)

    def stylize(i: int) -> Tensor:
        with torch.no_grad():
            return engine.stylize_tensor(job.frame(i, device), stylizer).float().clamp(0, 1)

    def recursive(stage: str, step: int) -> Callable[[int], Tensor]:
        def fn(i: int) -> Tensor:
            fresh = job.result("styl", i, device)
            j = i - step
            if not 0 <= j < n:
                return fresh
            prev = flows.warp_to(job.result(stage, j, device), j, i)
            return blend(fresh, prev, flows.weights(j, i).to(device), strength=cfg.strength)
        return fn

    each("styl", range(n), stylize)
    each("fwd", range(n), recursive("fwd", 1))
    each("bwd", range(n - 1, -1, -1), recursive("bwd", -1))
    each("fast", range(n), lambda i: (job.result("fwd", i, device) + job.result("bwd", i, device)) * 0.5)
    return "fast"
