"""Detail restore of the live temporal blend (models.temporal.blender step 4): a lerp of two
stroke patterns that do not line up averages texture away; these put the lost local detail
energy back (after Heitz & Neyret 2018's variance-preserving blending)."""
from __future__ import annotations

import torch
from torch import Tensor

from models.imgops import box_mean


def restore_detail(blended: Tensor, fresh: Tensor, *, window: int = 9, max_gain: float = 2.0) -> Tensor:
    """Scale the local detail (image minus its ``window`` box mean) of ``blended`` so its local
    energy matches ``fresh``'s; the local mean is kept. Gain is clamped to [1, max_gain]: the
    correction only undoes contrast lost by averaging, it never sharpens beyond the fresh frame.
    Where ``blended == fresh`` (confidence 0) the gain is exactly 1."""
    x, f = blended.float(), fresh.float()
    both = box_mean(torch.cat([x, f], 1), window)  # one pooling call for both images
    mean_x = both[:, :3]
    d_x, d_f = x - mean_x, f - both[:, 3:]
    energy = box_mean(torch.cat([(d_x * d_x).mean(1, keepdim=True), (d_f * d_f).mean(1, keepdim=True)], 1), 2 * window + 1)
    e_x, e_f = energy[:, :1], energy[:, 1:]
    gain = torch.sqrt((e_f + 1e-8) / (e_x + 1e-8)).clamp(1.0, max_gain)
    return (mean_x + gain * d_x).clamp(0.0, 1.0).to(blended.dtype)


def restore_lost_detail(
    blended: Tensor, fresh: Tensor, warped: Tensor, alpha: Tensor, *, window: int = 3, max_gain: float = 2.0
) -> Tensor:
    """Undo only the detail energy that ``blended = lerp(fresh, warped, alpha)`` averaged away.

    With d = image minus its ``window`` box mean and alpha locally constant,
    |d_blend|^2 = (1-alpha)|d_fresh|^2 + alpha|d_warped|^2 - alpha(1-alpha)|d_fresh - d_warped|^2:
    the last term is what mixing two patterns that do not line up removes (Heitz & Neyret 2018
    restore the variance of such a mix). The detail of ``blended`` is scaled by
    sqrt((E_blend + E_lost) / E_blend), energies box-averaged over 2*window+1, gain clamped to
    [1, max_gain]. Where the patterns agree (static, well-tracked content) or alpha is 0 or 1 the
    gain is exactly 1: unlike :func:`restore_detail` it never re-sharpens a history that was
    blurred by resampling or had its flicker averaged out (that re-sharpening is what E_warp
    counts as flicker on a nearly static shot). Same cost as :func:`restore_detail`.
    """
    x, diff = blended.float(), fresh.float() - warped.float()
    a = alpha.float()
    means = box_mean(torch.cat([x, diff], 1), window)  # d_fresh - d_warped = diff - box(diff)
    d_x, d_diff = x - means[:, :3], diff - means[:, 3:]
    lost = a * (1.0 - a) * (d_diff * d_diff).mean(1, keepdim=True)
    energy = box_mean(torch.cat([(d_x * d_x).mean(1, keepdim=True), lost], 1), 2 * window + 1)
    e_x, e_lost = energy[:, :1], energy[:, 1:]
    gain = torch.sqrt((e_x + e_lost + 1e-8) / (e_x + 1e-8)).clamp(1.0, max_gain)
    return (means[:, :3] + gain * d_x).clamp(0.0, 1.0).to(blended.dtype)
