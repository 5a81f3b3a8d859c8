"""The two optimization methods of Ruder et al.: single pass (short/long-term temporal loss)
and multi-pass. Both read every input from the job directory and write each finished frame
before starting the next, so they resume where they stopped (see :mod:`offline.ruder.job`).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from tqdm import tqdm

from offline.ruder.config import MultipassConfig, RuderConfig
from offline.ruder.flowcache import FlowCache
from offline.ruder.job import Job
from offline.ruder.longterm import long_term_weights, usable_offsets
from offline.ruder.optimize import FrameOptimizer, random_init
from offline.ruder.temporal_loss import TemporalTarget

FrameHook = Callable[[str, int], None]  # called after a frame's result is on disk (tests, UIs)


def frame_seed(seed: int, stage: int, i: int) -> int:
    return (seed * 1_000_003 + stage * 10_007 + i) % (2**63)


def _init(kind: str, *, job: Job, flows: FlowCache, stage: str, i: int, content: Tensor,
          seed: int, prev_stage: str | None = None) -> Tensor:
    if kind == "content":
        return content.clone()
    if kind == "prev-warped" and i > 0:
        return flows.warp_to(job.result(prev_stage or stage, i - 1, content.device), i - 1, i)
    return random_init(tuple(content.shape), seed=seed, device=content.device)


def run_ruder(job: Job, flows: FlowCache, opt: FrameOptimizer, cfg: RuderConfig, *,
              device: torch.device | str = "cpu", stage: str = "ruder",
              on_frame: FrameHook | None = None) -> str:
    """Single pass over the frames in order. Returns the stage holding the final frames."""
    o = cfg.optim
    n = job.n_frames
    bar = tqdm(range(n), desc="ruder: optimizing frames" if stage == "ruder" else f"ruder {stage}", unit="frame", dynamic_ncols=True)
    for i in bar:
        if job.has_result(stage, i):
            continue
        content = job.frame(i, device)
        targets: list[TemporalTarget] = []
        if i > 0 and o.temporal_weight > 0:
            offs = usable_offsets(i, cfg.long_term)
            c_long = long_term_weights({j: flows.weights(i - j, i).to(device) for j in offs})
            targets = [TemporalTarget(warped=flows.warp_to(job.result(stage, i - j, device), i - j, i),
                                      weight=c_long[j]) for j in offs]
        seed = frame_seed(o.seed, 0, i)
        init = _init(o.first_init if i == 0 else o.init, job=job, flows=flows, stage=stage, i=i,
                     content=content, seed=seed)
        iters = o.first_iterations if (i == 0 and o.first_iterations) else o.iterations
        out, terms = opt.run(content, init, targets, iterations=iters)
        job.save_result(stage, i, out)
        bar.set_postfix(style=f"{terms.style:.3g}", temporal=f"{terms.temporal:.3g}")
        if on_frame is not None:
            on_frame(stage, i)
    return stage


def pass_stage(p: int) -> str:
    return f"pass{p:02d}"


def run_multipass(job: Job, flows: FlowCache, opt: FrameOptimizer, cfg: MultipassConfig, *,
                  device: torch.device | str = "cpu", on_frame: FrameHook | None = None) -> str:
    """Ruder et al. (IJCV 2018, Sec. 3.4): ``passes`` sweeps of few iterations, alternating
    direction. From pass 2 each frame starts from its previous-pass result blended with the
    warped neighbour it is reached from, weighted by that pair's consistency c; the temporal
    loss (towards that neighbour) is on from pass ``temporal_after``."""
    o = cfg.optim
    n = job.n_frames
    for p in range(1, cfg.passes + 1):
        forward = p % 2 == 1
        stage, prev_pass = pass_stage(p), pass_stage(p - 1)
        order = range(n) if forward else range(n - 1, -1, -1)
        bar = tqdm(order, desc=f"multipass pass {p}/{cfg.passes} {'forward' if forward else 'backward'}",
                   unit="frame", dynamic_ncols=True)
        for i in bar:
            if job.has_result(stage, i):
                continue
            content = job.frame(i, device)
            # Neighbour results: the one we come from is already in this pass, the other in the last.
            nb: dict[int, tuple[str, float]] = {}
            if i > 0 and (forward or p > 1):
                nb[i - 1] = (stage if forward else prev_pass, cfg.blend_weight if forward else cfg.blend_weight_other)
            if i < n - 1 and (not forward or p > 1):
                nb[i + 1] = (prev_pass if forward else stage, cfg.blend_weight_other if forward else cfg.blend_weight)
            warped = {j: (flows.warp_to(job.result(s, j, device), j, i), flows.weights(j, i).to(device), w)
                      for j, (s, w) in nb.items()}
            if p == 1:
                # Pass 1 (always forward): the Lua code draws ONE noise image (randImg) before the
                # loop and starts every frame from it, so frames with equal content start equal.
                init = _init(o.init, job=job, flows=flows, stage=stage, i=i, content=content,
                             seed=frame_seed(o.seed, 1, 0))
            else:
                num = job.result(prev_pass, i, device)
                den = torch.ones_like(num[:, :1])
                for img, c, w in warped.values():
                    num = num + w * c * img
                    den = den + w * c
                init = num / den
            src = i - 1 if forward else i + 1
            targets = []
            if p >= cfg.temporal_after and o.temporal_weight > 0 and src in warped:
                targets = [TemporalTarget(warped=warped[src][0], weight=warped[src][1])]
            out, _ = opt.run(content, init, targets, iterations=o.iterations)
            job.save_result(stage, i, out)
            if on_frame is not None:
                on_frame(stage, i)
    return pass_stage(cfg.passes)
