"""Optical-flow files: Middlebury ``.flo`` (Baker et al., IJCV 2011) and KITTI 16-bit PNG.

``.flo``: float32 little-endian magic 202021.25, int32 width, int32 height, then H*W*2 float32
(u, v) interleaved. Values with |u| or |v| > 1e9 mean "unknown".

KITTI PNG (Geiger et al. 2012/2015, the format of their flow ground truth): a 3-channel uint16
PNG, R = u * 64 + 2^15, G = v * 64 + 2^15, B = 1 where the flow is valid. 1/64 px steps over
+-512 px, and ~9x smaller than ``.flo`` for DIS flows (Sintel 1024x436: 11 % of the bytes with
zlib level 1 and the RLE strategy, which is also the fastest of the strategies tried): what the
offline job caches (``offline.ruder.flowcache``).
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from models.io.atomic import write_bytes_atomic

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
    header = np.array([MAGIC], "<f4").tobytes() + np.array([w, h], "<i4").tobytes()
    write_bytes_atomic(Path(path), header + np.ascontiguousarray(flow).tobytes())


KITTI_SCALE = 64.0
KITTI_MAX = 512.0  # |u|, |v| < 512 px fit the 16 bits


def write_flow_png(path: str | os.PathLike, flow: np.ndarray, *, compression: int = 1) -> None:
    """Write HxWx2 flow as a KITTI 16-bit PNG, atomically. Unknown values (``.flo``'s > 1e9, NaN)
    and values beyond +-512 px are written as invalid (B = 0). ``compression`` 0-9 (1: fast;
    9 saves another ~25 % at 4x the time)."""
    flow = np.asarray(flow, dtype=np.float32)
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f"write_flow_png: expected HxWx2 flow, got shape {flow.shape}")
    finite = np.isfinite(flow).all(axis=-1)
    valid = finite & (np.abs(np.where(np.isfinite(flow), flow, 0.0)) < KITTI_MAX - 1.0 / KITTI_SCALE).all(axis=-1)
    q = np.where(valid[..., None], np.round(np.nan_to_num(flow) * KITTI_SCALE) + 2**15, 2**15).astype(np.uint16)
    bgr = np.dstack([valid.astype(np.uint16), q[..., 1], q[..., 0]])  # OpenCV writes B, G, R
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, int(compression),
                                         cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])
    if not ok:
        raise ValueError(f"{path}: PNG encoding failed")
    write_bytes_atomic(Path(path), buf.tobytes())


def read_flow_png(path: str | os.PathLike) -> np.ndarray:
    """HxWx2 float32 (u, v) from a KITTI 16-bit PNG; invalid pixels get the ``.flo`` unknown value
    (so :func:`valid_mask` applies to both formats). ValueError on another kind of image."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.dtype != np.uint16 or img.ndim != 3 or img.shape[2] != 3:
        got = "unreadable" if img is None else f"{img.dtype} {img.shape}"
        raise ValueError(f"{path}: expected a KITTI flow PNG (3-channel uint16), got {got}")
    uv = (img[..., 2:0:-1].astype(np.float32) - 2**15) / KITTI_SCALE  # R = u, G = v
    uv[img[..., 0] == 0] = 1e10
    return uv


def valid_mask(flow: np.ndarray) -> np.ndarray:
    """HxW bool: True where the flow is known."""
    return (np.abs(flow) < UNKNOWN_THRESH).all(axis=-1)
