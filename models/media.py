"""Media I/O for stylecast: the only place that touches PyAV and OpenCV image codecs.

Frames at this boundary are numpy HxWx3 uint8 RGB; :func:`to_tensor` / :func:`to_uint8` convert
to and from the library's (N,3,H,W) [0,1] tensors. Implementation is split by concern:
:mod:`models.media_video` (reading), :mod:`models.media_write` (atomic writing, audio copy),
:mod:`models.media_image` (stills, conversions). Policies are documented in docs/media.md.
"""
from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING, Any

from models.media_image import IMAGE_SUFFIXES, read_alpha, read_image, to_tensor, to_uint8, write_image
from models.media_write import VIDEO_SUFFIXES, VideoWriter, check_output_path

if TYPE_CHECKING:
    from models.media_video import VideoReader, open_video


def __getattr__(name: str) -> Any:
    # models.media_video imports PyAV: loaded on first use, so frame conversions and image I/O
    # (the live loop with a camera or test pattern, training on images) work without it.
    if name in ("VideoReader", "open_video"):
        from models import media_video

        return getattr(media_video, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "VideoReader", "VideoWriter", "check_output_path",
    "fit_size", "is_image_path", "open_video", "read_alpha", "read_image", "to_tensor", "to_uint8", "write_image",
]


def is_image_path(path: str | Path) -> bool:
    """True when the suffix names a still-image format handled by :func:`read_image`."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def fit_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    """``(h, w)`` after a ``max_side`` limit on the longer side. Unchanged when it already fits;
    downscaled sizes are rounded to even (H.264 4:2:0 needs them), never above ``max_side``."""
    if max_side is None or max(h, w) <= max_side:
        return h, w
    s = max_side / max(h, w)

    def even(v: float) -> int:  # nearest even size, never above max_side
        e = max(2, int(v / 2 + 0.5) * 2)
        return e - 2 if e > max_side else e

    return even(h * s), even(w * s)
