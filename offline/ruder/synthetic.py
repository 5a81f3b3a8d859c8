"""A clip with known motion for tests and benchmarks: a window panning over a still texture.

Frame t is ``texture[y0 + t*dy : ..., x0 + t*dx : ...]``, so frame_b(x) = frame_a(x + (b-a)d)
and the exact flow a->b (models.flow.estimators convention, ``warp(frame_b, flow) = frame_a``) is the
constant ``-(b-a)*d``. Pixels whose source leaves the frame are exactly the disoccluded ones.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.flow.files import write_flo
from offline.ruder.job import write_png


def pan_clip(texture: np.ndarray, *, n: int, size: tuple[int, int], step: tuple[int, int] = (2, 1)) -> list[np.ndarray]:
    """``n`` HxWx3 uint8 frames of ``size=(h, w)`` panning by ``step=(dx, dy)`` px per frame."""
    h, w = size
    dx, dy = step
    need_h, need_w = h + abs(dy) * (n - 1), w + abs(dx) * (n - 1)
    if texture.shape[0] < need_h or texture.shape[1] < need_w:
        raise ValueError(f"pan_clip: texture {texture.shape[:2]} smaller than needed {(need_h, need_w)}")
    x0 = 0 if dx >= 0 else need_w - w
    y0 = 0 if dy >= 0 else need_h - h
    return [np.ascontiguousarray(texture[y0 + t * dy:y0 + t * dy + h, x0 + t * dx:x0 + t * dx + w]) for t in range(n)]


def pan_flow(a: int, b: int, size: tuple[int, int], step: tuple[int, int]) -> np.ndarray:
    """Exact flow a->b as HxWx2 float32."""
    f = np.empty((*size, 2), np.float32)
    f[..., 0] = -(b - a) * step[0]
    f[..., 1] = -(b - a) * step[1]
    return f


def write_pan_job_inputs(frames_dir: Path, flows_dir: Path, frames: list[np.ndarray], step: tuple[int, int]) -> None:
    """Frames as PNGs plus exact flows for every ordered pair (for a job's ``flows/`` cache)."""
    frames_dir.mkdir(parents=True, exist_ok=True)
    flows_dir.mkdir(parents=True, exist_ok=True)
    size = frames[0].shape[:2]
    for i, f in enumerate(frames):
        write_png(frames_dir / f"frame_{i + 1:04d}.png", f)
    for a in range(len(frames)):
        for b in range(len(frames)):
            if a != b:
                write_flo(flows_dir / f"fwd_{a:06d}_{b:06d}.flo", pan_flow(a, b, size, step))
