"""Long-range temporal consistency of a stylized clip: what the long-term loss is for.

E_warp of Lai et al. 2018 (:func:`models.temporal.metrics.warping_error`) compares *consecutive* frames
over pixels that pass the forward-backward check between them. Ruder et al.'s long-term loss
(GCPR 2016, Sec. 3.3) changes nothing on those pixels by construction: c_long(i-j, i) is zero
wherever c(i-1, i) is one. It acts where a region is unreliable w.r.t. frame i-1 (occluded,
on a motion boundary, a flow failure) but visible in an earlier frame i-j, and its purpose is
that such a region looks the same when it re-appears. So we also measure, for a gap g:

- ``all``: mean over i >= g of the squared RGB difference between stylized frame i and
  stylized frame i-g warped onto it with flow computed *directly* between the two original
  frames, over pixels where that direct pair passes the consistency check (c(i-g, i) = 1);
- ``reappear``: the same over the subset that is unreliable between i-1 and i
  (c(i-g, i) = 1 and c(i-1, i) = 0): the pixels only the long-term loss ties to the past.

Flows are estimated on the original frames (never the method's own cache), masks are the
:mod:`models.flow.consistency` weights, values are on the [0,1] RGB scale, averaged over channels.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from models.flow.consistency import consistency_weights
from models.contracts import check_frames
from models.flow.estimators import DISConfig, DISFlow, FlowEstimator
from models.flow.warp import warp


@dataclass(frozen=True)
class LongRangeError:
    gap: int
    all: float  # pixel-weighted mean squared difference over c(i-g, i) = 1
    reappear: float  # the same over c(i-g, i) = 1 and c(i-1, i) = 0 (nan when no such pixel)
    reappear_fraction: float  # share of frame pixels in the reappear set (over frames i >= g)


def long_range_error(original: Tensor, stylized: Tensor, gap: int = 10, *,
                     estimator: FlowEstimator | None = None) -> LongRangeError:
    """See the module docstring. ``original``/``stylized``: ``(T,3,H,W)`` with T > gap >= 2."""
    check_frames(original, "original")
    check_frames(stylized, "stylized", like=original)
    if stylized.shape != original.shape:
        raise ValueError(f"long_range_error: stylized {tuple(stylized.shape)} must match original {tuple(original.shape)}")
    t = original.shape[0]
    if gap < 2 or t <= gap:
        raise ValueError(f"long_range_error: expected 2 <= gap < frames, got gap={gap} with {t} frames")
    est = estimator or DISFlow(DISConfig(preset="medium", max_side=None))
    o = original.float()
    sums = {"all": 0.0, "reappear": 0.0}
    counts = {"all": 0.0, "reappear": 0.0}
    for i in range(gap, t):
        cur, far, near = o[i:i + 1], o[i - gap:i - gap + 1], o[i - 1:i]
        to_far = est(cur, far)  # i -> i-g on i's grid: warp(frame_{i-g}, to_far) ~= frame_i
        c_far = consistency_weights(to_far, est(far, cur))
        c_near = consistency_weights(est(cur, near), est(near, cur))
        warped = warp(stylized[i - gap:i - gap + 1].double(), to_far.double())
        sq = ((stylized[i:i + 1].double() - warped) ** 2).mean(1, keepdim=True)
        for key, m in (("all", c_far), ("reappear", c_far * (1.0 - c_near))):
            m = m.double()
            sums[key] += float((sq * m).sum())
            counts[key] += float(m.sum())
    pixels = (t - gap) * original.shape[-2] * original.shape[-1]
    return LongRangeError(
        gap=gap,
        all=sums["all"] / counts["all"] if counts["all"] else float("nan"),
        reappear=sums["reappear"] / counts["reappear"] if counts["reappear"] else float("nan"),
        reappear_fraction=counts["reappear"] / pixels,
    )
