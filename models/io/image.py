"""Still-image I/O (OpenCV) and the uint8 <-> tensor conversions used at I/O boundaries."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from models.contracts import check_frames, default_dtype
from models.errors import InputError, UserError, UserWarning_
from models.io.atomic import write_bytes_atomic
from models.io.resize import resize_frame
from models.io.video_write import check_output_path, write_error

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as HxWx3 uint8 RGB (grey is replicated, alpha left to :func:`read_alpha`,
    16-bit rounded to 8).

    The EXIF orientation of camera JPEGs is applied, so the picture is upright (as for rotated
    videos in :mod:`models.io.video`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"input image not found: {path}")
    # imdecode from bytes: cv2.imread cannot open non-ASCII paths on every platform.
    data = np.fromfile(str(path), dtype=np.uint8)
    # IMREAD_COLOR applies EXIF orientation and gives 3 channels; ANYDEPTH keeps 16-bit values
    # so they are rounded (not truncated) to 8 bits below. (IMREAD_UNCHANGED ignores EXIF.)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH) if data.size else None
    if img is None:
        raise InputError(f"cannot decode {path} as an image (expected one of {', '.join(IMAGE_SUFFIXES)})")
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise InputError(f"{path}: expected an 8- or 16-bit image, got {img.dtype}")
    if img.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB))
    return np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))


def read_alpha(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray | None:
    """The alpha channel of an RGBA image as HxW uint8 (16-bit rounded), or None when it has none.

    :func:`read_image` returns the colour only; this is its alpha, on the same grid (``size=(h,
    w)`` to match a resized picture, area-averaged). None too when the alpha cannot sit on the
    colour's grid (an EXIF rotation that OpenCV applies to the colour only).
    """
    path = Path(path)
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None or img.ndim != 3 or img.shape[2] != 4:
        return None
    a = img[..., 3]
    if a.dtype == np.uint16:
        a = ((a.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif a.dtype != np.uint8:
        return None
    if size is not None and a.shape != tuple(size):
        a = resize_frame(a, tuple(size))
    return np.ascontiguousarray(a)


ALPHA_SUFFIXES = (".png", ".webp", ".tif", ".tiff")  # formats OpenCV writes with an alpha channel


def write_image(path: str | Path, arr: np.ndarray, alpha: np.ndarray | None = None) -> Path:
    """Write HxWx3 uint8 RGB atomically (temp file + rename); the format follows the suffix.

    ``alpha`` (HxW uint8) makes an RGBA file; formats without alpha (:data:`ALPHA_SUFFIXES`
    lists those with) get the colour only and a :class:`models.errors.UserWarning_`.
    """
    path = check_output_path(path, IMAGE_SUFFIXES)
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3:
        got = (arr.shape, arr.dtype) if isinstance(arr, np.ndarray) else type(arr).__name__
        raise ValueError(f"write_image: expected HxWx3 uint8 RGB array, got {got}")
    bgr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if alpha is not None:
        if not isinstance(alpha, np.ndarray) or alpha.dtype != np.uint8 or alpha.shape != arr.shape[:2]:
            got = (alpha.shape, alpha.dtype) if isinstance(alpha, np.ndarray) else type(alpha).__name__
            raise ValueError(f"write_image: expected alpha of shape {arr.shape[:2]} uint8, got {got}")
        if path.suffix.lower() in ALPHA_SUFFIXES:
            bgr = np.dstack([bgr, alpha])
        else:
            import warnings

            warnings.warn(UserWarning_(f"the input's alpha channel is not in {path.name}: {path.suffix} has none "
                                       f"(write {', '.join(ALPHA_SUFFIXES)} to keep it)"), stacklevel=2)
    ok, buf = cv2.imencode(path.suffix.lower(), bgr)
    if not ok:
        raise UserError(f"cannot encode an image as {path.suffix}")
    try:
        write_bytes_atomic(path, buf.tobytes())
    except OSError as exc:
        raise write_error(path, exc) from None
    return path


def to_tensor(frames_u8: np.ndarray | Sequence[np.ndarray], *, device: str | torch.device = "cpu",
              dtype: torch.dtype | None = None) -> Tensor:
    """HxWx3 / (N,H,W,3) uint8 RGB (array or list) -> (N,3,H,W) in [0,1], fp16 on CUDA by default."""
    arr = np.stack(list(frames_u8)) if not isinstance(frames_u8, np.ndarray) else frames_u8
    if arr.ndim == 3:
        arr = arr[None]
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"to_tensor: expected uint8 (N,H,W,3) RGB, got {arr.shape} {arr.dtype}")
    dtype = dtype or default_dtype(device)
    # Upload uint8 (4x less traffic than float) and convert on the device.
    t = torch.from_numpy(np.ascontiguousarray(arr)).to(device)
    return t.permute(0, 3, 1, 2).to(dtype).div_(255.0)


def to_uint8(frames: Tensor) -> np.ndarray:
    """(N,3,H,W) float in [0,1] -> (N,H,W,3) uint8 (clamped, rounded to nearest)."""
    check_frames(frames)
    u8 = (frames.detach().float().clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8)
    return np.ascontiguousarray(u8.permute(0, 2, 3, 1).cpu().numpy())
