"""Image quality measures for the benchmark and tests: SSIM (Wang, Bovik, Sheikh & Simoncelli 2004)."""
from __future__ import annotations

import cv2
import numpy as np


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 1.0) -> float:
    """Mean SSIM of two gray HxW images (Gaussian window sigma 1.5, K1=0.01, K2=0.03)."""
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"ssim: expected two equal HxW images, got {a.shape} and {b.shape}")
    x, y = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def g(t: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(t, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = g(x), g(y)
    vx, vy, cxy = g(x * x) - mx * mx, g(y * y) - my * my, g(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s[5:-5, 5:-5].mean())
