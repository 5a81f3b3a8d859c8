"""Temporal loss of Ruder et al. 2016 (Eq. 7/8): per-pixel weighted MSE between the image being
optimised and earlier stylized frames warped onto it,

    L_temporal(x, w, c) = 1/D * sum_k c_k (x_k - w_k)^2,   D = H*W*3,

summed over the long-term set J with the weights c_long (:mod:`offline.ruder.longterm`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from models.contracts import check_frames, check_mask


@dataclass(frozen=True)
class TemporalTarget:
    """One earlier stylized frame warped onto the current grid, with its per-pixel weight."""

    warped: Tensor  # (1,3,H,W)
    weight: Tensor  # (1,1,H,W) in [0,1]

    def __post_init__(self) -> None:
        check_frames(self.warped, "warped")
        check_mask(self.weight, "weight", like=self.warped)


def temporal_loss(x: Tensor, targets: list[TemporalTarget]) -> Tensor:
    """Sum over targets of mean_{pixels,channels}(c * (x - warped)^2); 0 for no targets."""
    check_frames(x, "x")
    total = x.new_zeros((), dtype=torch.float32)
    for t in targets:
        diff = x.float() - t.warped.float()
        total = total + (t.weight.float() * diff * diff).mean()
    return total
