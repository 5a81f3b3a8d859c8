"""Scene-cut detection for the live temporal blend.

A cut makes the optical flow meaningless: without a reset, the first frames of the new shot
would inherit ghosts of the old one wherever the (wrong) flow looks consistent. We compare grey
histograms rather than pixels because a histogram is almost invariant to camera motion, so fast
pans do not trigger false cuts (the classic histogram-difference detector, e.g. Zhang,
Kankanhalli & Smoliar 1993, "Automatic partitioning of full-motion video").
"""
from __future__ import annotations

import numpy as np

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
