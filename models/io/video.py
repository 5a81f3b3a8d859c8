"""Video reading with PyAV: upright RGB uint8 frames with their timestamps.

Files are read here and written by :mod:`models.io.video_write` (the server also handles aiortc's
``av.VideoFrame`` objects for WebRTC, which are frames, not files). Policies:

* Every pixel format (8/10/12-bit, 4:2:0/4:2:2/4:4:4) is converted by libswscale to 8-bit RGB
  (``frame.to_ndarray(format="rgb24")``); high-bit-depth detail is rounded away.
* Rotation: ``rotation`` is the counter-clockwise display rotation in {0, 90, 180, 270}; the
  display matrix (``rotate`` tag of phone videos, exposed by FFmpeg as side data)
  is applied, so frames come out upright and ``width``/``height`` are the upright size. Flips in
  the matrix are ignored (FFmpeg's own autorotate ignores them too for mp4 rotate tags).
* A mid-stream resolution change is resized to the first frame's size.
* Timing: frames carry their source ``pts`` and ``time_base`` so writers can keep variable
  frame rate timing exactly.
* Files that cannot be opened, have no video stream or no decodable frame raise
  :class:`models.errors.InputError` at :func:`open_video` (the first frame is decoded eagerly).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from models.errors import InputError, one_line_reason


def _upright(rgb: np.ndarray, rotation: int) -> np.ndarray:
    # frame.rotation is the counter-clockwise angle the display matrix applies; np.rot90 with
    # k>0 rotates counter-clockwise too, so k = rotation/90 shows the picture as intended.
    k = round(rotation / 90.0) % 4
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


class VideoReader:
    """Iterable of upright HxWx3 uint8 RGB frames; use :func:`open_video` to create one.

    One pass only: iterating twice raises ``RuntimeError`` (reopen the file instead).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"input video not found: {self.path}")
        if self.path.is_dir():
            raise InputError(f"expected a video file, got a directory: {self.path}")
        try:
            self._container = av.open(str(self.path), mode="r")
        except av.error.EOFError:
            raise InputError(f"{self.path} is empty or truncated: no video frames") from None
        except (av.error.FFmpegError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot open {self.path} as a video: {one_line_reason(exc)}") from None
        try:
            if not self._container.streams.video:
                raise InputError(f"{self.path} has no video stream (streams: "
                                 f"{[s.type for s in self._container.streams] or 'none'})")
            self._stream = self._container.streams.video[0]
            self._stream.thread_type = "AUTO"
            self._frames = self._decode()
            first = next(self._frames, None)
            if first is None:
                raise InputError(f"{self.path} contains no decodable video frame")
            self._first: tuple[np.ndarray, int | None, Fraction] | None = first
            self.rotation: int = self._rotation
        except BaseException:
            self._container.close()
            raise
        self._started = False

    # -- properties --------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """Upright width in pixels (after applying :attr:`rotation`)."""
        return self._size[1]

    @property
    def height(self) -> int:
        return self._size[0]

    @property
    def fps(self) -> Fraction:
        """Average frame rate (``avg_frame_rate``; falls back to the codec rate, then 25)."""
        rate = self._stream.average_rate or self._stream.guessed_rate or self._stream.base_rate
        return Fraction(rate) if rate else Fraction(25)

    @property
    def time_base(self) -> Fraction:
        return Fraction(self._stream.time_base)

    @property
    def frame_count(self) -> int | None:
        """Frame count from the container header, ``None`` when the container does not say."""
        return int(self._stream.frames) or None

    @property
    def duration(self) -> float | None:
        """Duration in seconds (stream, else container), ``None`` when unknown."""
        if self._stream.duration is not None and self._stream.time_base:
            return float(self._stream.duration * self._stream.time_base)
        if self._container.duration is not None:
            return self._container.duration / 1_000_000
        return None

    @property
    def has_audio(self) -> bool:
        return bool(self._container.streams.audio)

    # -- iteration ---------------------------------------------------------------------------
    def _decode(self) -> Iterator[tuple[np.ndarray, int | None, Fraction]]:
        self._rotation = 0
        self._size = (self._stream.height, self._stream.width)
        have_meta = False
        tb = Fraction(self._stream.time_base) if self._stream.time_base else Fraction(1, 25)
        try:
            for frame in self._container.decode(self._stream):
                rgb = _upright(frame.to_ndarray(format="rgb24"), frame.rotation)
                if not have_meta:  # the first frame fixes rotation and upright size
                    have_meta = True
                    self._rotation = int(round(frame.rotation / 90.0)) * 90 % 360
                    self._size = rgb.shape[:2]
                elif rgb.shape[:2] != self._size:
                    # Mid-stream resolution change (concatenated/streamed sources): keep one
                    # size for consumers, like FFmpeg's auto-inserted scaler does.
                    rgb = cv2.resize(rgb, (self._size[1], self._size[0]), interpolation=cv2.INTER_AREA)
                yield rgb, frame.pts, Fraction(frame.time_base) if frame.time_base else tb
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot decode {self.path}: {one_line_reason(exc)}") from None

    def frames_with_pts(self) -> Iterator[tuple[np.ndarray, int | None, Fraction]]:
        """Yield ``(frame_u8, pts, time_base)``; ``pts`` may be ``None`` for raw streams."""
        if self._started:
            raise RuntimeError("VideoReader is single-pass: reopen the file to read it again")
        self._started = True
        first, self._first = self._first, None
        if first is not None:
            yield first
        yield from self._frames

    def __iter__(self) -> Iterator[np.ndarray]:
        for rgb, _, _ in self.frames_with_pts():
            yield rgb

    # -- lifetime ----------------------------------------------------------------------------
    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"VideoReader({str(self.path)!r}, {self.width}x{self.height}, fps={self.fps}, "
                f"frames={self.frame_count}, audio={self.has_audio}, rotation={self.rotation})")


def open_video(path: str | Path) -> VideoReader:
    """Open ``path`` for reading; raises :class:`InputError` for missing/corrupt/non-video files."""
    return VideoReader(path)



