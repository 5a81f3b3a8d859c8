"""Patch grid, MRF costs and patch synthesis for multi-exemplar face stylization.

Data term (Song et al. 2017, eq. 3): how well the input patch matches the aligned exemplar
patch, photo-to-photo when exemplar photos exist, otherwise input luminance vs the stylized
exemplar's luminance; both on intensities plus gradients. Smoothness term: disagreement of the
two candidate stylized exemplars in the overlap of neighbouring patches (Wang & Tang 2009).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class PatchGrid:
    ys: np.ndarray  # top rows of the patches, (GH,)
    xs: np.ndarray  # left columns, (GW,)
    size: int

    @classmethod
    def cover(cls, height: int, width: int, *, patch: int, stride: int) -> "PatchGrid":
        def starts(n: int) -> np.ndarray:
            s = list(range(0, max(n - patch, 0) + 1, stride))
            if s[-1] + patch < n:
                s.append(n - patch)
            return np.array(s, np.int64)
        if height < patch or width < patch:
            raise ValueError(f"image: expected at least {patch}x{patch} pixels, got {height}x{width}")
        return cls(starts(height), starts(width), patch)


def _integral(img: np.ndarray) -> np.ndarray:
    return cv2.integral(img.astype(np.float64))


def _box_mean(ii: np.ndarray, y0: np.ndarray, y1: np.ndarray, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """Mean of the image under boxes [y0,y1) x [x0,x1) from its integral image (broadcasts)."""
    s = ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0]
    return s / np.maximum((y1 - y0) * (x1 - x0), 1)


def gradients(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return gx, gy


def standardize(gray: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Match mean and std of ``gray`` to ``like`` (compensates exposure between photos)."""
    return (gray - gray.mean()) / (gray.std() + 1e-6) * like.std() + like.mean()


def data_costs(grid: PatchGrid, target: np.ndarray, candidates: list[np.ndarray], *,
               grad_weight: float) -> np.ndarray:
    """(GH,GW,K) mean squared intensity + gradient differences per patch and candidate."""
    ty, tx = gradients(target)
    yy, xx = np.meshgrid(grid.ys, grid.xs, indexing="ij")
    out = np.empty((len(grid.ys), len(grid.xs), len(candidates)))
    for k, cand in enumerate(candidates):
        cy, cx = gradients(cand)
        d = (target - cand) ** 2 + grad_weight * ((ty - cy) ** 2 + (tx - cx) ** 2)
        out[..., k] = _box_mean(_integral(d), yy, yy + grid.size, xx, xx + grid.size)
    return out


def smoothness_costs(grid: PatchGrid, styled: list[np.ndarray], *, weight: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise costs (GH,GW-1,K,K) and (GH-1,GW,K,K): mean SSD of exemplars in each overlap."""
    k = len(styled)
    gh, gw, p = len(grid.ys), len(grid.xs), grid.size
    ph = np.zeros((gh, gw - 1, k, k))
    pv = np.zeros((gh - 1, gw, k, k))
    yy, xx = np.meshgrid(grid.ys, grid.xs, indexing="ij")
    for a in range(k):
        for b in range(a + 1, k):
            ii = _integral((styled[a] - styled[b]) ** 2)
            if gw > 1:  # overlap of (i,j) and (i,j+1): columns [x_{j+1}, x_j + p)
                y0, x0 = yy[:, 1:], xx[:, 1:]
                x1 = np.maximum(xx[:, :-1] + p, x0 + 1)
                ph[:, :, a, b] = ph[:, :, b, a] = _box_mean(ii, y0, y0 + p, x0, x1)
            if gh > 1:
                y0, x0 = yy[1:], xx[1:]
                y1 = np.maximum(yy[:-1] + p, y0 + 1)
                pv[:, :, a, b] = pv[:, :, b, a] = _box_mean(ii, y0, y1, x0, x0 + p)
    return weight * ph, weight * pv


def label_weights(grid: PatchGrid, labels: np.ndarray, k: int, hw: tuple[int, int]) -> np.ndarray:
    """(K,H,W) soft per-pixel exemplar weights: each patch votes for its label with a tent window.

    The windows make the overlaps cross-fade, which is the patch-synthesis quilting step.
    """
    h, w = hw
    p = grid.size
    tent = 1.0 - np.abs(np.linspace(-1, 1, p + 2)[1:-1]) + 1e-3
    win = np.outer(tent, tent)
    acc = np.zeros((k, h, w))
    for i, y in enumerate(grid.ys):
        for j, x in enumerate(grid.xs):
            acc[labels[i, j], y:y + p, x:x + p] += win
    return acc / np.maximum(acc.sum(0, keepdims=True), 1e-12)


def synthesize(weights: np.ndarray, styled: list[np.ndarray]) -> np.ndarray:
    """Blend aligned stylized exemplars (HxWxC) with the per-pixel weights (K,H,W)."""
    out = np.zeros_like(styled[0], dtype=np.float64)
    for wk, sk in zip(weights, styled):
        out += (wk[..., None] if sk.ndim == 3 else wk) * sk
    return out.astype(np.float32)
