"""Middlebury ``.flo`` optical-flow files (Baker et al., IJCV 2011).

Layout: float32 little-endian magic 202021.25, int32 width, int32 height, then H*W*2 float32
(u, v) interleaved. Values with |u| or |v| > 1e9 mean "unknown".
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

MAGIC = 202021.25
UNKNOWN_THRESH = 1e9


def read_flo(path: str | os.PathLike) -> np.ndarray:
    """Returns HxWx2 float32 (u, v). Raises ValueError on a malformed file."""
    data = Path(path).read_bytes()
    if len(data) < 12:
        raise ValueError(f"{path}: not a .flo file (only {len(data)} bytes)")
    magic = np.frombuffer(data, "<f4", 1, 0)[0]
    if magic != np.float32(MAGIC):
        raise ValueError(f"{path}: bad .flo magic {magic!r}, expected {MAGIC}")
    w, h = (int(v) for v in np.frombuffer(data, "<i4", 2, 4))
    need = 12 + w * h * 8
    if w <= 0 or h <= 0 or len(data) < need:
        raise ValueError(f"{path}: .flo header says {w}x{h} ({need} bytes) but file has {len(data)} bytes")
    return np.frombuffer(data, "<f4", w * h * 2, 12).reshape(h, w, 2).copy()


def write_flo(path: str | os.PathLike, flow: np.ndarray) -> None:
    """Write HxWx2 float flow atomically (temp file in the same directory, then rename)."""
    flow = np.asarray(flow, dtype="<f4")
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"write_flo: expected HxWx2 flow, got shape {flow.shape}")
    h, w = flow.shape[:2]
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(np.array([MAGIC], "<f4").tobytes())
            f.write(np.array([w, h], "<i4").tobytes())
            f.write(np.ascontiguousarray(flow).tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def valid_mask(flow: np.ndarray) -> np.ndarray:
    """HxW bool: True where the flow is known."""
    return (np.abs(flow) < UNKNOWN_THRESH).all(axis=-1)
