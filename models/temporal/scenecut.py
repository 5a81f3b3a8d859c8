"""Scene-cut detection for the live temporal blend.

A cut makes the optical flow meaningless: without a reset, the first frames of the new shot
would inherit ghosts of the old one wherever the (wrong) flow looks consistent. We compare grey
histograms rather than pixels because a histogram is almost invariant to camera motion, so fast
pans do not trigger false cuts (the classic histogram-difference detector, e.g. Zhang,
Kankanhalli & Smoliar 1993, "Automatic partitioning of full-motion video").
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

BINS = 32


def gray_histogram(gray: np.ndarray) -> np.ndarray:
    """Normalised ``BINS``-bin histogram (sums to 1) of an HxW uint8 grey image."""
    if gray.dtype != np.uint8 or gray.ndim != 2:
        raise ValueError(f"gray_histogram: expected an HxW uint8 image, got {gray.shape} {gray.dtype}")
    hist = np.bincount((gray >> 3).ravel(), minlength=BINS).astype(np.float64)  # 256/8 = 32 bins
    return hist / max(hist.sum(), 1.0)


def histogram_distance(h_a: np.ndarray, h_b: np.ndarray) -> float:
    """Half the L1 distance of two normalised histograms: 0 identical, 1 disjoint."""
    return 0.5 * float(np.abs(h_a - h_b).sum())


def is_scene_cut(h_prev: np.ndarray, h_cur: np.ndarray, threshold: float) -> bool:
    """True when the histogram distance exceeds ``threshold`` (in [0,1])."""
    return histogram_distance(h_prev, h_cur) > threshold


def gray_histogram_tensor(gray: Tensor) -> Tensor:
    """:func:`gray_histogram` of a float grey image in [0,1] (any shape), on its device: the GPU
    temporal step decides cuts without downloading the frame. Bin edges as for uint8 >> 3."""
    idx = (gray.float().clamp(0, 1) * 255.0 + 0.5).to(torch.int64).clamp_max(255) >> 3
    idx = idx.flatten()
    # scatter_add, not bincount: CUDA bincount reads the max index back to size its output (a sync)
    hist = torch.zeros(BINS, device=idx.device).scatter_add_(0, idx, torch.ones(idx.shape, device=idx.device))
    return hist / hist.sum().clamp_min(1.0)


def scene_cut_tensor(h_prev: Tensor, h_cur: Tensor, threshold: float) -> Tensor:
    """:func:`is_scene_cut` as a 0-d bool tensor on the histograms' device (no host sync)."""
    return 0.5 * (h_prev - h_cur).abs().sum() > threshold
