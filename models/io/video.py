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
* A file that ends early (cut short: fewer frames than its header's frame count, or the last
  frame well before its stated duration) is read to where it stops, then a
  :class:`models.errors.TruncatedVideoWarning` says how many frames could be read;
  :attr:`VideoReader.truncated` keeps that message.
"""
from __future__ import annotations

import warnings
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import cv2
import numpy as np

from models.errors import InputError, TruncatedVideoWarning, one_line_reason


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
                raise InputError(f"{self.path} contains no decodable video frame"
                                 + (f" ({self.truncated})" if self.truncated else ""))
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
        self.frames_read, self.truncated = 0, None
        last_end: float | None = None
        self._read_error: str | None = None
        try:
            for frame in self._frames_until_eof():
                self.frames_read += 1
                if frame.pts is not None:
                    last_end = float(frame.pts * (frame.time_base or tb)) + 1.0 / float(self.fps)
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
        self.truncated = self._truncation(last_end)
        if self.truncated and self.frames_read:  # none at all: open_video raises instead
            warnings.warn(TruncatedVideoWarning(self.truncated), stacklevel=2)

    def _frames_until_eof(self) -> Iterator[av.VideoFrame]:
        """Decoded frames. A file cut short fails in the demuxer, or in the decoder on the last,
        partial packet (an mp4 whose index promises more bytes than the file has): that ends the
        stream like EOF (the decoder is flushed, the reason kept for :meth:`_truncation`). A
        corrupt payload before the end of the file still raises."""
        packets = self._container.demux(self._stream)
        size, at_end = self.path.stat().st_size, False
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as exc:
                yield from self._stop_at_cut(exc)
                return
            # a packet reaching the end of the file: the demuxer returns what there is of it
            at_end = at_end or (packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size >= size)
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                if not at_end:  # (frame threads report the error on a later packet or the flush)
                    raise
                yield from self._stop_at_cut(exc)
                return
            yield from frames

    def _stop_at_cut(self, exc: BaseException) -> Iterator[av.VideoFrame]:
        self._read_error = one_line_reason(exc)
        try:
            yield from self._stream.decode(None)  # frames still buffered in the decoder
        except av.error.FFmpegError:
            pass

    def _truncation(self, last_end: float | None) -> str | None:
        """The one-line note for a file that ended early, else None.

        Evidence, in order: the header's frame count; else the stated duration (stream, else
        container) against the end of the last frame, with a tolerance of 3 frames or 5 % so
        that an audio track a little longer than the video is not taken for a cut.
        """
        n, expected = self.frames_read, self.frame_count
        if expected is not None and n < expected:
            return (f"{self.path.name} is truncated: only {n} of the {expected} frames its header announces "
                    f"could be read")
        if self._read_error is not None:
            return f"{self.path.name} is truncated or damaged: reading stopped after {n} frames ({self._read_error})"
        if expected is not None:
            return None
        dur, fps = self.duration, float(self.fps)
        if dur is None or last_end is None or fps <= 0:
            return None
        if dur - last_end <= max(3.0 / fps, 0.05 * dur):
            return None
        return (f"{self.path.name} is truncated: {n} frames ({last_end:.1f} s) could be read of a stated "
                f"{dur:.1f} s (about {round(dur * fps)} frames)")

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



