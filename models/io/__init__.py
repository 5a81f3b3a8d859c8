"""Media I/O: video files (PyAV) and still images (OpenCV) as numpy HxWx3 uint8 RGB.

Users' media (inputs and outputs of stylize, live, video, faces, train) goes through here. Other
modules encode or decode for their own formats and say so: flow files and caches as PNG
(models.flow.files, offline/ruder), training previews, WebRTC frames (aiortc's av.VideoFrame in
stream/server), JPEG thumbnails, the live sources/sinks (OpenCV camera and window) and the
broadcast recorder (which uses this module's VideoWriter). Frames at this boundary are numpy HxWx3 uint8 RGB; :func:`to_tensor` / :func:`to_uint8` convert
to and from the library's (N,3,H,W) [0,1] tensors. Implementation is split by concern:
:mod:`models.io.video` (reading), :mod:`models.io.video_write` (atomic writing, audio copy),
:mod:`models.io.image` (stills, conversions). Policies are documented in docs/media.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.io.image import IMAGE_SUFFIXES, read_alpha, read_image, to_tensor, to_uint8, write_image
from models.io.resize import fit_size, resize_frame
from models.io.video_write import VIDEO_SUFFIXES, VideoWriter, check_output_path

if TYPE_CHECKING:
    from models.io.video import VideoReader, open_video


def __getattr__(name: str) -> Any:
    # models.io.video imports PyAV: loaded on first use, so frame conversions and image I/O
    # (the live loop with a camera or test pattern, training on images) work without it.
    if name in ("VideoReader", "open_video"):
        from models.io import video as media_video

        return getattr(media_video, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "VideoReader", "VideoWriter", "check_output_path",
    "fit_size", "is_image_path", "open_video", "read_alpha", "read_image", "resize_frame", "to_tensor", "to_uint8",
    "write_image",
]


def is_image_path(path: str | Path) -> bool:
    """True when the suffix names a still-image format handled by :func:`read_image`."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
