"""Frame sources of the live loop: webcam, video file, the embedded sample, a test pattern.

Every source yields HxWx3 uint8 RGB frames from :meth:`read` (``None`` = end of stream) and is
read by exactly one thread (the loop's capture thread). ``is_device`` sources are paced by the
hardware (a camera delivers at its own rate; the loop must drop, never queue); the others are
read on demand, so a file-to-file run is deterministic unless it is paced with ``--realtime``.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Callable, Protocol

import cv2
import numpy as np

from models.errors import UserError

SOURCE_HELP = "a camera index (0) or /dev/videoN, a video file, 'sample', 'photos' or 'pattern'"


class SourceLost(UserError):
    """A device source stopped delivering frames mid-stream (camera unplugged, driver error)."""


class Source(Protocol):
    name: str
    is_device: bool
    fps: float
    width: int
    height: int

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


class WebcamSource:
    """A camera through ``cv2.VideoCapture`` (index or device path).

    ``capture_factory`` exists for tests (a fake camera); it receives the index or path.
    A failed read is retried ``max_failures - 1`` times (USB cameras drop single frames), then
    the source raises :class:`SourceLost` instead of spinning or hanging.
    """

    is_device = True

    def __init__(self, device: int | str, *, capture_factory: Callable[[Any], Any] | None = None,
                 max_failures: int = 3) -> None:
        self.name = f"camera {device}"
        self._cap = (capture_factory or cv2.VideoCapture)(device)
        if self._cap is None or not self._cap.isOpened():
            self._release()
            raise UserError(f"cannot open {self.name}: no such camera or it is busy "
                            f"(expected {SOURCE_HELP})")
        ok, first = self._cap.read()
        if not ok or first is None:
            self._release()
            raise UserError(f"{self.name} opened but delivered no frame (busy or unsupported format)")
        self._pending: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 1.0 <= fps <= 240.0 else 30.0  # many drivers report 0 or garbage
        self._max_failures = max_failures
        self.frames_read = 0

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            return None
        if self._pending is not None:
            bgr, self._pending = self._pending, None
        else:
            bgr = None
            for _ in range(self._max_failures):
                ok, img = self._cap.read()
                if ok and img is not None:
                    bgr = img
                    break
            if bgr is None:
                raise SourceLost(f"{self.name} stopped delivering frames after {self.frames_read} frames "
                                 f"(unplugged or driver error)")
        self.frames_read += 1
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def _release(self) -> None:
        cap, self._cap = getattr(self, "_cap", None), None
        if cap is not None:
            cap.release()

    def close(self) -> None:
        self._release()


class FileSource:
    """A video file through :func:`models.io.open_video` (rotation, odd formats handled there)."""

    is_device = False

    def __init__(self, path: str | Path) -> None:
        from models.io import open_video

        self.path = Path(path)
        self.name = str(self.path)
        self._reader = open_video(self.path)
        self.width, self.height = self._reader.width, self._reader.height
        self.fps = float(self._reader.fps) if self._reader.fps else 30.0
        self.frame_count = self._reader.frame_count
        self._it = iter(self._reader)

    def read(self) -> np.ndarray | None:
        return next(self._it, None)

    def close(self) -> None:
        self._reader.close()


class ArraySource:
    """Frames from an (N,H,W,3) uint8 array, played ``loops`` times (None = forever) ping-pong,
    so that looping never makes a cut. Used by the sample source and by tests."""

    is_device = False

    def __init__(self, frames: np.ndarray, *, fps: float = 24.0, name: str = "array", loops: int | None = 1) -> None:
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
            raise ValueError(f"ArraySource: expected (N,H,W,3) uint8 frames, got {frames.shape} {frames.dtype}")
        self._frames, self.fps, self.name, self._loops = frames, fps, name, loops
        self.height, self.width = frames.shape[1:3]
        self._i = 0

    def read(self) -> np.ndarray | None:
        n = len(self._frames)
        period = max(2 * n - 2, 1)
        if self._loops is not None and self._i >= n + (self._loops - 1) * period:
            return None
        k = self._i % period
        self._i += 1
        return self._frames[k if k < n else period - k]

    def close(self) -> None:
        pass


def photos_source(*, size: tuple[int, int] = (240, 320), n: int = 192, loops: int | None = None) -> ArraySource:
    """The demo clip (models.io.photo_clip: a slow camera move over four shipped public-domain /
    CC0 photographs), looped ping-pong forever by default."""
    from models.io.photo_clip import photo_clip

    return ArraySource(photo_clip(n=n, size=size), fps=24.0, name="photos", loops=loops)


def sample_source(*, size: tuple[int, int] = (240, 320), n: int = 48, loops: int | None = None) -> ArraySource:
    """The embedded sample clip (models.io.sample), looped ping-pong forever by default."""
    from models.io.sample import sample_frames

    return ArraySource(sample_frames(n=n, size=size), fps=24.0, name="sample", loops=loops)


class PatternSource:
    """Synthetic test pattern: colour bars on a drifting gradient, a circle on a Lissajous path
    and the frame number. Deterministic per frame index; endless unless ``n`` is given."""

    is_device = False

    def __init__(self, *, size: tuple[int, int] = (480, 640), fps: float = 30.0, n: int | None = None) -> None:
        self.height, self.width = size
        if self.height < 16 or self.width < 16:
            raise ValueError(f"PatternSource: expected size >= (16, 16), got {size}")
        self.fps, self.name, self._n, self._i = fps, "pattern", n, 0
        ys, xs = np.mgrid[0:self.height, 0:self.width].astype(np.float32)
        self._xs, self._ys = xs / self.width, ys / self.height

    def read(self) -> np.ndarray | None:
        if self._n is not None and self._i >= self._n:
            return None
        t, h, w = self._i, self.height, self.width
        self._i += 1
        phase = 0.02 * t
        img = np.empty((h, w, 3), np.float32)
        img[..., 0] = 0.5 + 0.5 * np.sin(2 * math.pi * (self._xs + phase))
        img[..., 1] = 0.5 + 0.5 * np.sin(2 * math.pi * (self._ys * 1.5 - phase))
        img[..., 2] = 0.5 + 0.5 * np.cos(2 * math.pi * (self._xs + self._ys) * 0.75)
        bars = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1], [0, 1, 0], [1, 0, 1], [1, 0, 0], [0, 0, 1]], np.float32)
        top = h // 6
        img[:top] = bars[(np.arange(w) * len(bars) // w)][None]
        out = (img * 255).astype(np.uint8)
        cx = int(w * (0.5 + 0.35 * math.sin(0.05 * t)))
        cy = int(h * (0.6 + 0.25 * math.sin(0.07 * t)))
        cv2.circle(out, (cx, cy), max(4, h // 10), (250, 250, 250), -1, lineType=cv2.LINE_AA)
        cv2.putText(out, f"{t:06d}", (8, h - 10), cv2.FONT_HERSHEY_SIMPLEX, max(0.4, h / 800), (0, 0, 0), 2)
        return out

    def close(self) -> None:
        pass


_DEV_RE = re.compile(r"^/dev/video\d+$")


def open_source(spec: str, *, capture_factory: Callable[[Any], Any] | None = None) -> Source:
    """Parse a ``--source`` value: ``0`` / ``/dev/video0`` webcam, ``sample``, ``pattern``, a file."""
    s = spec.strip()
    if s.isdigit():
        return WebcamSource(int(s), capture_factory=capture_factory)
    if _DEV_RE.match(s):
        if not Path(s).exists():
            raise UserError(f"camera device not found: {s} (expected {SOURCE_HELP})")
        return WebcamSource(s, capture_factory=capture_factory)
    if s == "sample":
        return sample_source()
    if s == "photos":
        return photos_source()
    if s == "pattern":
        return PatternSource()
    p = Path(s)
    if not p.exists():
        raise UserError(f"source not found: {s!r} (expected {SOURCE_HELP})")
    return FileSource(p)
