"""The one longest-side resizer: the size a frame gets under a ``max_side`` limit, and the resize.

Used by the live loop, ``stylecast stylize``, the offline jobs (``processing size``) and the live
flow (which runs at a reduced size). The policies differ only in their parameters:

* ``multiple=2``: video output (H.264 4:2:0 needs even sizes); ``multiple=1`` for the flow.
* ``keep_fitting``: a frame that already fits keeps its exact size (live, stylize); the offline
  jobs round every size to the multiple because they always write 4:2:0 video.
* Never above ``max_side``, never below ``min_side``.
"""
from __future__ import annotations

import numpy as np


def fit_size(h: int, w: int, max_side: int | None, *, multiple: int = 2, min_side: int = 2,
             keep_fitting: bool = True) -> tuple[int, int]:
    """``(h, w)`` with the longer side scaled down to ``max_side`` (aspect kept), each side rounded to
    the nearest ``multiple`` (ties to even multiples), clamped to ``[min_side, max_side]``."""
    fits = max_side is None or max_side <= 0 or max(h, w) <= max_side
    if fits and keep_fitting:
        return h, w
    s = 1.0 if fits else max_side / max(h, w)

    def side(v: float) -> int:
        r = max(min_side, round(v * s / multiple) * multiple)
        if max_side and max_side > 0 and r > max_side:
            r -= multiple
        return r

    return side(h), side(w)


def resize_frame(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWxC uint8 to ``size`` = (h, w) with area averaging (the right filter for downscaling);
    the same array when it already has that size."""
    if img.shape[:2] == tuple(size):
        return img
    import cv2

    return cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
