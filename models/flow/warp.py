"""Backward warping with optical flow, and the temporal blend of the live pipeline.

Flow convention: ``flow`` is ``(N,2,H,W)`` float32 in pixels, defined on the *target* grid.
``warp(image, flow)[x] = image[x + flow[x]]`` (bilinear). So to bring the previous frame onto
the current one, pass the flow from current to previous ("backward flow").
"""
from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from models.contracts import check, check_flow, check_mask
from models.imgops import remap


@lru_cache(maxsize=32)
def _grid(h: int, w: int, device: str) -> Tensor:
    ys, xs = torch.meshgrid(
        torch.arange(h, device=device, dtype=torch.float32),
        torch.arange(w, device=device, dtype=torch.float32),
        indexing="ij",
    )
    return torch.stack((xs, ys))[None]


def _base_grid(h: int, w: int, device: torch.device) -> Tensor:
    """``(1,2,H,W)`` pixel coordinates (x, y), float32; cached per size/device (thread-safe
    LRU: one grid per stream resolution, never written to by callers)."""
    return _grid(h, w, str(device))


def sample_coords(flow: Tensor) -> Tensor:
    """Absolute sampling coordinates ``x + flow(x)`` as ``(N,2,H,W)`` float32."""
    return _base_grid(flow.shape[-2], flow.shape[-1], flow.device) + flow.float()


def warp(image: Tensor, flow: Tensor, *, padding_mode: str = "border", mode: str = "bilinear") -> Tensor:
    """Backward-warp ``image`` ``(N,C,H,W)`` by ``flow`` ``(N,2,H,W)``; returns ``image``'s dtype.

    Integer flows move pixels exactly (``align_corners=True`` maps pixel centres to grid
    points). ``padding_mode`` ("border" or "zeros") and ``mode`` ("bilinear" or "bicubic"; the
    cubic kernel overshoots, so clamp the result if the range matters) go to ``grid_sample``.
    """
    check(image, "image", shape=("N", None, "H", "W"))
    check_flow(flow, "flow", like=image)
    n = max(image.shape[0], flow.shape[0])
    h, w = image.shape[-2:]
    # float64 images get float64 coordinates: float32 grids cost ~1e-6 px, visible in float64.
    cdt = torch.float64 if image.dtype == torch.float64 else torch.float32
    coords = sample_coords(flow) if cdt == torch.float32 else (
        _base_grid(h, w, flow.device).to(cdt) + flow.to(cdt)
    )
    if padding_mode == "border":
        fast = remap(image, coords, mode=mode)  # OpenCV for CPU float32 (models.imgops), else None
        if fast is not None:
            return fast
    # Normalise to [-1, 1]; a 1-pixel axis maps everything to 0 (its only pixel).
    gx = coords[:, 0] * (2.0 / max(w - 1, 1)) - 1.0
    gy = coords[:, 1] * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack((gx, gy), dim=-1)
    # grid_sample wants image and grid in one dtype. A float16 grid is not enough: its spacing
    # near +-1 is 2**-11 of the half-width, ~0.5 px at 1920 wide (bfloat16: ~4 px), so fp16/bf16
    # images are sampled in float32 and cast back (one frame-sized copy, cheap next to a network).
    src = image if image.dtype in (torch.float32, torch.float64) else image.float()
    src = src.expand(n, -1, -1, -1) if src.shape[0] != n else src
    grid = grid.expand(n, -1, -1, -1) if grid.shape[0] != n else grid
    out = F.grid_sample(src, grid, mode=mode, padding_mode=padding_mode, align_corners=True)
    return out.to(image.dtype)


def inside_mask(flow: Tensor) -> Tensor:
    """``(N,1,H,W)`` float mask: 1 where ``x + flow(x)`` lands inside the image."""
    check_flow(flow)
    h, w = flow.shape[-2:]
    c = sample_coords(flow)
    ok = (c[:, 0] >= 0) & (c[:, 0] <= w - 1) & (c[:, 1] >= 0) & (c[:, 1] <= h - 1)
    return ok[:, None].float()


def blend(fresh: Tensor, warped_prev: Tensor, confidence: Tensor, *, strength: float = 0.7) -> Tensor:
    """Temporal blend: ``out = fresh + strength*c*(warped_prev - fresh)``.

    ``confidence`` c in [0,1] (1 = flow reliable, see :mod:`models.flow.consistency`); c = 0 returns
    the fresh stylization exactly, so occluded pixels never inherit stale content.
    ``strength`` in [0,1] sets how much reliable pixels lean on the previous output: higher means
    less flicker but more ghosting when the flow is wrong. Inputs are not modified.
    """
    check(fresh, "fresh", shape=("N", None, "H", "W"))
    check(warped_prev, "warped_prev", shape=("N", None, "H", "W"), like=fresh)
    check_mask(confidence, "confidence", like=fresh)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"blend: strength must be in [0,1], got {strength}")
    alpha = (confidence * strength).to(fresh.dtype)
    return torch.lerp(fresh, warped_prev.to(fresh.dtype), alpha)
