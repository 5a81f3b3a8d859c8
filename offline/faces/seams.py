"""Seam removal with the guided filter (He, Sun & Tang, TPAMI 2013).

Where neighbouring patches came from different exemplars the synthesis can show a step. The
guided filter, steered by the input face, smooths what the input does not justify (the seam)
and keeps edges the input has; it is applied only in a band around label boundaries.
"""
from __future__ import annotations

import cv2
import numpy as np


def _box(img: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(img, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(src: np.ndarray, guide: np.ndarray, *, radius: int, eps: float) -> np.ndarray:
    """Gray-guide guided filter: q = mean(a) * I + mean(b), per channel of ``src`` (HxW[xC])."""
    g = guide.astype(np.float32)
    s = src.astype(np.float32)
    if s.ndim == 3:
        return np.stack([guided_filter(s[..., c], g, radius=radius, eps=eps) for c in range(s.shape[2])], -1)
    mg, ms = _box(g, radius), _box(s, radius)
    cov = _box(g * s, radius) - mg * ms
    var = _box(g * g, radius) - mg * mg
    a = cov / (var + eps)
    b = ms - a * mg
    return _box(a, radius) * g + _box(b, radius)


def seam_band(weights: np.ndarray, *, width: int) -> np.ndarray:
    """HxW float in [0,1]: 1 near pixels where exemplar weights mix (label boundaries)."""
    mixed = (weights.max(0) < 0.999).astype(np.float32)
    if width > 0:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
        mixed = cv2.dilate(mixed, k)
        mixed = cv2.GaussianBlur(mixed, (0, 0), sigmaX=width / 2.0)
    return np.clip(mixed, 0.0, 1.0)


def remove_seams(image: np.ndarray, guide: np.ndarray, band: np.ndarray, *, radius: int,
                 eps: float) -> np.ndarray:
    """Replace ``image`` by its input-guided filtering inside ``band`` (HxW weights)."""
    filtered = guided_filter(image, guide, radius=radius, eps=eps)
    b = band[..., None] if image.ndim == 3 else band
    return (image * (1.0 - b) + filtered * b).astype(np.float32)


def seam_gradient(image: np.ndarray, seam: np.ndarray) -> float:
    """Mean gradient magnitude of ``image`` (gray HxW) on the pixels where ``seam`` is true."""
    gx = cv2.Sobel(image.astype(np.float32), cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(image.astype(np.float32), cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return float(np.sqrt(gx ** 2 + gy ** 2)[seam].mean())
