"""The embedded sample clip: a procedural scene with an exactly known optical flow.

The project ships no third-party media, and none of its dependencies ships a photograph, so the
scene is procedural and generated deterministically at run time: a sky/hills/ground landscape
covered with band-limited sinusoidal texture (so bilinear resampling is accurate), filmed by a
camera that pans and zooms in, with a textured disc orbiting and spinning in front of it.

Because every frame is rendered analytically from continuous world coordinates, the motion of
each pixel is known in closed form: :func:`sample_flow` returns the exact backward flow
``t -> t-1`` (``warp(frame[t-1], flow[t-1]) ~= frame[t]``, see :mod:`models.flow.warp`) and the
occlusion mask (pixels of frame t not visible in frame t-1: disocclusions behind the disc, the
disc's anti-aliased rim, and pixels entering the view). This plays the role of synthetic
ground-truth sequences such as MPI-Sintel (Butler et al., ECCV 2012) for tests and demos.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

# Camera motion per frame (pixels of the output frame / relative zoom) and disc motion. Chosen
# to be typical hand-held footage: a few pixels per frame, occlusions that exercise flow checks.
_PAN_PX = (1.7, 0.6)
_ZOOM = 0.994  # world units per pixel shrink by 0.6 % a frame: a slow zoom in
_SPIN = 0.035  # disc rotation, radians per frame
_RIM_PX = 1.5  # anti-aliased disc edge: mixed pixels are marked occluded


class SampleFlow(NamedTuple):
    """Ground truth for frames 1..n-1: ``flow`` (n-1,2,H,W) float32 pixels, t -> t-1;
    ``occluded`` (n-1,1,H,W) float32, 1 where frame t's pixel is not visible in frame t-1."""

    flow: Tensor
    occluded: Tensor


@dataclass(frozen=True)
class _Scene:
    """Random but seeded scene parameters (texture waves, colours, disc path)."""

    waves: np.ndarray  # (K, 5): kx, ky, phase, amplitude, channel
    disc_waves: np.ndarray  # (M, 5) texture of the disc, in its own (rotating) coordinates
    hill: np.ndarray  # (J, 3): frequency, phase, amplitude of the horizon line
    path_phase: float

    @staticmethod
    def make(seed: int) -> "_Scene":
        rng = np.random.default_rng(seed)

        def waves(k: int, min_wl: float, max_wl: float) -> np.ndarray:
            # Log-uniform wavelengths with amplitude growing with wavelength: a roughly 1/f
            # spectrum like natural images, and no detail finer than ``min_wl`` pixels.
            wl = np.exp(rng.uniform(np.log(min_wl), np.log(max_wl), k))
            ang = rng.uniform(0, np.pi, k)
            amp = 0.03 * (wl / min_wl) ** 0.4 * rng.uniform(0.6, 1.0, k)
            return np.stack([np.cos(ang) * 2 * np.pi / wl, np.sin(ang) * 2 * np.pi / wl,
                             rng.uniform(0, 2 * np.pi, k), amp,
                             rng.integers(0, 3, k).astype(float)], axis=1)

        hill = np.stack([rng.uniform(0.004, 0.03, 4), rng.uniform(0, 2 * np.pi, 4),
                         rng.uniform(6, 20, 4)], axis=1)
        return _Scene(waves(14, 8.0, 160.0), waves(6, 6.0, 30.0), hill, float(rng.uniform(0, 2 * np.pi)))


def _camera(t: int, h: int, w: int) -> tuple[np.ndarray, float]:
    """World position of the frame centre and world units per pixel at frame ``t``."""
    scale = _ZOOM ** t
    centre = np.array([w / 2 + _PAN_PX[0] * t, h / 2 + _PAN_PX[1] * t])
    return centre, scale


def _disc(t: int, h: int, w: int, scene: _Scene) -> tuple[np.ndarray, float, float]:
    """Disc centre (world), radius (world) and rotation angle at frame ``t``.

    The orbit is defined relative to the camera so the disc stays in view for any length.
    """
    centre, scale = _camera(t, h, w)
    a = scene.path_phase + 0.09 * t
    offset = np.array([0.28 * w * np.cos(a), 0.2 * h * np.sin(2 * a)])
    return centre + scale * offset, 0.16 * min(h, w), _SPIN * t


def _world_grid(t: int, h: int, w: int) -> np.ndarray:
    centre, scale = _camera(t, h, w)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    return np.stack([centre[0] + scale * (xs - (w - 1) / 2), centre[1] + scale * (ys - (h - 1) / 2)])


def _rot(v: np.ndarray, ang: float) -> np.ndarray:
    c, s = np.cos(ang), np.sin(ang)
    return np.stack([c * v[0] - s * v[1], s * v[0] + c * v[1]])


def _texture(p: np.ndarray, waves: np.ndarray, base: np.ndarray) -> np.ndarray:
    # float32 phases: |arg| stays below ~1e3 rad, where float32 errors (~1e-4) are invisible.
    p32 = p.astype(np.float32)
    chans = [np.full(p.shape[1:], b, np.float32) for b in base]
    for kx, ky, ph, amp, ch in waves:
        chans[int(ch)] += np.float32(amp) * np.sin(np.float32(kx) * p32[0] + np.float32(ky) * p32[1] + np.float32(ph))
    return np.stack(chans, axis=-1)


def _background(p: np.ndarray, scene: _Scene, h: int) -> np.ndarray:
    horizon = 0.45 * h + sum(a * np.sin(f * p[0] + ph) for f, ph, a in scene.hill)
    # Smooth (about 3 world px) sky/ground transition: sharp edges would alias under zoom.
    ground = 1.0 / (1.0 + np.exp(-(p[1] - horizon) / 1.5))
    sky = np.stack([0.45 + 0 * p[0], 0.62 + 0 * p[0], 0.85 - 0.0008 * p[1]], axis=-1)
    land = np.stack([0.35 + 0 * p[0], 0.48 + 0 * p[0], 0.22 + 0 * p[0]], axis=-1)
    col = sky + ground[..., None] * (land - sky)
    return _texture(p, scene.waves, np.zeros(3)) + col


def _render(t: int, h: int, w: int, scene: _Scene) -> np.ndarray:
    p = _world_grid(t, h, w)
    o, r, ang = _disc(t, h, w, scene)
    _, scale = _camera(t, h, w)
    img = _background(p, scene, h)
    # The disc only touches its bounding box (in pixels): render it there only.
    cx, cy = (o - p[:, 0, 0]) / scale
    rp = r / scale + 2
    y0, y1 = max(int(cy - rp), 0), min(int(cy + rp) + 2, h)
    x0, x1 = max(int(cx - rp), 0), min(int(cx + rp) + 2, w)
    if y0 >= y1 or x0 >= x1:
        return img
    d = p[:, y0:y1, x0:x1] - o[:, None, None]
    q = _rot(d, -ang)  # object coordinates: the texture spins with the disc
    disc = _texture(q, scene.disc_waves, np.array([0.85, 0.45, 0.2]))
    disc += 0.12 * np.sin(np.hypot(q[0], q[1]) / 3.0)[..., None]  # rings
    alpha = np.clip((r - np.hypot(d[0], d[1])) / scale + 0.5, 0.0, 1.0)[..., None]
    img[y0:y1, x0:x1] += alpha * (disc - img[y0:y1, x0:x1])
    return img


def _check(n: int, size: tuple[int, int]) -> tuple[int, int]:
    h, w = (int(v) for v in size)
    if n < 1 or h < 16 or w < 16:
        raise ValueError(f"sample: expected n >= 1 and size >= (16, 16), got n={n}, size={size}")
    return h, w


def sample_frames(n: int = 48, size: tuple[int, int] = (240, 320), seed: int = 0) -> np.ndarray:
    """``n`` frames of the sample clip as (n,H,W,3) uint8 RGB; identical for identical args."""
    h, w = _check(n, size)
    scene = _Scene.make(seed)
    frames = np.stack([_render(t, h, w, scene) for t in range(n)])
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _backward(t: int, h: int, w: int, scene: _Scene) -> tuple[np.ndarray, np.ndarray]:
    p = _world_grid(t, h, w)
    o, r, ang = _disc(t, h, w, scene)
    o0, r0, ang0 = _disc(t - 1, h, w, scene)
    c0, s0 = _camera(t - 1, h, w)
    _, s = _camera(t, h, w)
    dist = np.hypot(p[0] - o[0], p[1] - o[1])
    on_disc = dist < r
    # A disc point keeps its object coordinates: move it with the disc from t to t-1.
    q = _rot(p - o[:, None, None], -ang)
    p_prev = np.where(on_disc, o0[:, None, None] + _rot(q, ang0), p)
    x_prev = (p_prev[0] - c0[0]) / s0 + (w - 1) / 2
    y_prev = (p_prev[1] - c0[1]) / s0 + (h - 1) / 2
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    flow = np.stack([x_prev - xs, y_prev - ys]).astype(np.float32)
    outside = (x_prev < 0) | (x_prev > w - 1) | (y_prev < 0) | (y_prev > h - 1)
    rim = np.abs(dist - r) < _RIM_PX * s
    dist_prev = np.hypot(p[0] - o0[0], p[1] - o0[1])
    hidden = ~on_disc & (dist_prev < r0 + _RIM_PX * s0)  # background behind the disc at t-1
    return flow, (outside | rim | hidden).astype(np.float32)


def sample_flow(n: int = 48, size: tuple[int, int] = (240, 320), seed: int = 0) -> SampleFlow:
    """Exact backward flows t -> t-1 and occlusion masks for :func:`sample_frames` (same args)."""
    h, w = _check(n, size)
    if n < 2:
        raise ValueError(f"sample_flow: expected n >= 2 frames to have a flow, got n={n}")
    scene = _Scene.make(seed)
    pairs = [_backward(t, h, w, scene) for t in range(1, n)]
    flow = torch.from_numpy(np.stack([f for f, _ in pairs]))
    occ = torch.from_numpy(np.stack([m for _, m in pairs]))[:, None]
    return SampleFlow(flow=flow, occluded=occ)


def sample_video(path: str | Path, *, n: int = 48, size: tuple[int, int] = (240, 320), seed: int = 0,
                 fps: int = 24, crf: int = 18) -> Path:
    """Write the sample clip as an H.264 video (atomically, see :class:`models.io.VideoWriter`)."""
    from models.io import VideoWriter  # PyAV only when writing

    frames = sample_frames(n, size, seed)
    with VideoWriter(path, width=frames.shape[2], height=frames.shape[1], fps=Fraction(fps), crf=crf) as wr:
        for f in frames:
            wr.write(f)
    return Path(path)
