"""Landmark alignment: similarity fits, face crops and piecewise-affine warps.

The exemplars are warped onto the input face by a piecewise-affine map over a Delaunay
triangulation of the input landmarks (Song et al. 2017, sec. 3.1). Anchor points on the crop
border follow the best similarity transform, so the whole crop is covered and regions away from
the landmarks move rigidly instead of stretching.
"""
from __future__ import annotations

import cv2
import numpy as np

# dlib 68-point indices.
JAW = slice(0, 17)
LEFT_EYE = slice(36, 42)
RIGHT_EYE = slice(42, 48)


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity ``2x3`` matrix mapping ``src`` (K,2) onto ``dst`` (K,2) (Umeyama 1991)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"points: expected two equal (K>=2,2) arrays, got {src.shape} and {dst.shape}")
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rot = u @ np.diag(sign) @ vt
    scale = (sig * sign).sum() / max((s ** 2).sum() / len(src), 1e-12)
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = md - m[:, :2] @ ms
    return m


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def crop_transform(landmarks: np.ndarray, *, height: int, width: int, margin_side: float,
                   margin_top: float, margin_bottom: float) -> np.ndarray:
    """``2x3`` image->crop matrix: rotate the eye line level, scale the face box to the crop.

    The crop box is the landmark box grown by the margins (fractions of its size).
    """
    lm = np.asarray(landmarks, np.float64)
    if lm.shape[0] == 68:
        le, re = lm[LEFT_EYE].mean(0), lm[RIGHT_EYE].mean(0)
        angle = np.degrees(np.arctan2(re[1] - le[1], re[0] - le[0]))
    else:
        angle = 0.0
    c = lm.mean(0)
    rot = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), float(angle), 1.0)
    r = apply_affine(rot, lm)
    x0, y0 = r.min(0)
    x1, y1 = r.max(0)
    bw, bh = x1 - x0, y1 - y0
    top, bottom = y0 - margin_top * bh, y1 + margin_bottom * bh
    side = margin_side * bw
    left, right = x0 - side, x1 + side
    # Keep the crop's aspect: grow the smaller dimension around its centre.
    box_h, box_w = bottom - top, right - left
    aspect = width / height
    if box_w / box_h < aspect:
        cx = (left + right) / 2
        box_w = box_h * aspect
        left = cx - box_w / 2
    else:
        cy = (top + bottom) / 2
        box_h = box_w / aspect
        top = cy - box_h / 2
    scale = height / box_h
    m = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]], np.float64)
    full = np.vstack([m, [0, 0, 1]]) @ np.vstack([rot, [0, 0, 1]])
    return full[:2]


def border_anchors(height: int, width: int, n: int = 4) -> np.ndarray:
    """Points along the border of an ``height x width`` image (n per side), (4n,2) float."""
    xs = np.linspace(0, width - 1, n + 1)
    ys = np.linspace(0, height - 1, n + 1)
    pts = [(x, 0) for x in xs[:-1]] + [(width - 1, y) for y in ys[:-1]]
    pts += [(x, height - 1) for x in xs[::-1][:-1]] + [(0, y) for y in ys[::-1][:-1]]
    return np.array(pts, np.float64)


def piecewise_affine_maps(src_pts: np.ndarray, dst_pts: np.ndarray, out_hw: tuple[int, int]
                          ) -> tuple[np.ndarray, np.ndarray]:
    """``cv2.remap`` maps (map_x, map_y) sending each output pixel to its source position.

    ``dst_pts`` are the landmarks in the output frame, ``src_pts`` the same landmarks in the
    source image. Border anchors of the output follow the least-squares similarity, so every
    output pixel lies in a triangle.
    """
    src = np.asarray(src_pts, np.float64)
    dst = np.asarray(dst_pts, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 3:
        raise ValueError(f"landmarks: expected two equal (K>=3,2) arrays, got {src.shape} and {dst.shape}")
    h, w = out_hw
    inv = fit_similarity(dst, src)  # output -> source
    anchors = border_anchors(h, w)
    # Landmarks outside the output (or too near an anchor) would fold triangles: keep only inside ones.
    inside = (dst[:, 0] > 1) & (dst[:, 0] < w - 2) & (dst[:, 1] > 1) & (dst[:, 1] < h - 2)
    d_all = np.vstack([dst[inside], anchors])
    s_all = np.vstack([src[inside], apply_affine(inv, anchors)])
    subdiv = cv2.Subdiv2D((-1, -1, w + 2, h + 2))
    for p in d_all:
        subdiv.insert((float(p[0]), float(p[1])))
    tris = subdiv.getTriangleList().reshape(-1, 3, 2)
    keep = np.all((tris[..., 0] >= -0.5) & (tris[..., 0] <= w + 0.5) & (tris[..., 1] >= -0.5)
                  & (tris[..., 1] <= h + 0.5), axis=(1,))
    tris = tris[keep]
    # Vertex -> index of the nearest inserted point (Subdiv2D returns coordinates only).
    dist = np.linalg.norm(tris[:, :, None, :] - d_all[None, None], axis=-1)
    idx = dist.argmin(-1)
    label = np.full((h, w), -1, np.int32)
    mats = np.zeros((len(idx) + 1, 2, 3), np.float64)
    mats[-1] = inv  # pixels no triangle covers (rounding at the border) move with the similarity
    for t, (a, b, c) in enumerate(idx):
        dtri = d_all[[a, b, c]]
        e1, e2 = dtri[1] - dtri[0], dtri[2] - dtri[0]
        if abs(e1[0] * e2[1] - e1[1] * e2[0]) < 1e-6:  # degenerate triangle
            continue
        mats[t] = cv2.getAffineTransform(dtri.astype(np.float32), s_all[[a, b, c]].astype(np.float32))
        cv2.fillConvexPoly(label, np.round(dtri * 16).astype(np.int32), int(t), shift=4)
    label[label < 0] = len(idx)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    a = mats[label]
    map_x = a[..., 0, 0] * xs + a[..., 0, 1] * ys + a[..., 0, 2]
    map_y = a[..., 1, 0] * xs + a[..., 1, 1] * ys + a[..., 1, 2]
    return map_x.astype(np.float32), map_y.astype(np.float32)


def warp_to(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Remap ``image`` (HxW or HxWxC float32) through ``maps`` (bilinear, border replicated)."""
    return cv2.remap(image, maps[0], maps[1], interpolation=cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)
