"""Broadcast sources: the embedded sample clip, a video file (looped), or a webcam.

Thin adapters over the live loop's sources (:mod:`stream.sources`), adding what a broadcast
needs: a ``description`` for /stats, looping files, a requested webcam size, and rendering the
sample lazily on the source thread. Each source is a blocking ``read() -> HxWx3 uint8 RGB |
None`` (None = ended) called from a thread, never from the event loop. Sources are opened (and
validated) before the server starts, so a bad path is a one-line CLI error instead of a dead
broadcast; a camera that stops raises :class:`stream.sources.SourceLost`, which the broadcast
reports as its error.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from models.errors import UserError
from stream import sources as live


class FrameSource(Protocol):
    fps: float
    description: str

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


class SampleSource:
    """The embedded sample clip (``models.io.sample``), played back and forth forever."""

    def __init__(self, size: tuple[int, int], fps: float, n: int = 48, *, photos: bool = False) -> None:
        what = "demo photos" if photos else "embedded sample"
        self.fps, self.description = fps, f"{what} {size[1]}x{size[0]}"
        self._size, self._n, self._photos = size, n, photos
        self._clip: live.ArraySource | None = None

    def read(self) -> np.ndarray | None:
        if self._clip is None:
            # rendered on first read (the source thread), not at startup: ~0.2 s/frame at 640x480
            make = live.photos_source if self._photos else live.sample_source
            self._clip = make(size=self._size, n=self._n, loops=None)
        return self._clip.read()

    def close(self) -> None:
        self._clip = None


class FileSource:
    """A video file, looped when ``loop`` (reopened at the end: no seeking in odd containers)."""

    def __init__(self, path: Path, loop: bool) -> None:
        self.path, self.loop = path, loop
        self._file = self._open()
        self.fps = self._file.fps
        self.description = f"file {path.name}"

    def _open(self) -> live.FileSource:
        try:
            return live.FileSource(self.path)
        except UserError as exc:
            raise UserError(f"broadcast source: expected a readable video file, got {str(self.path)!r}: {exc}") from None

    def read(self) -> np.ndarray | None:
        f = self._file.read()
        if f is None and self.loop:
            self._file.close()
            self._file = self._open()
            f = self._file.read()
        return f

    def close(self) -> None:
        self._file.close()


class WebcamSource:
    live = True  # frames arrive in real time: never skip-read to catch up

    def __init__(self, index: int, size: tuple[int, int], fps: float) -> None:
        def sized_capture(device: Any) -> Any:
            import cv2

            cap = cv2.VideoCapture(device)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[0])
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[1])
            cap.set(cv2.CAP_PROP_FPS, fps)
            return cap

        try:
            self._cam = live.WebcamSource(index, capture_factory=sized_capture)
        except UserError as exc:
            raise UserError(f"broadcast source: {exc} (try --source sample)") from None
        self.fps = self._cam.fps
        self.description = f"webcam {index}"

    def read(self) -> np.ndarray | None:
        return self._cam.read()

    def close(self) -> None:
        self._cam.close()


def webcam_available(index: int = 0) -> bool:
    return Path(f"/dev/video{index}").exists()


def open_source(spec: str, *, size: tuple[int, int], fps: float, loop: bool, sample_frames: int = 48) -> FrameSource:
    if spec == "sample":
        return SampleSource(size, fps, n=sample_frames)
    if spec == "whip":  # frames pushed by a WHIP publisher (POST /whip)
        from stream.server.whip_source import WhipSource

        return WhipSource(fps)
    if spec == "photos":
        return SampleSource(size, fps, n=4 * sample_frames, photos=True)
    if spec == "webcam" or spec.startswith("webcam:"):
        idx = spec.partition(":")[2] or "0"
        if not idx.isdigit():
            raise UserError(f"broadcast source: expected webcam or webcam:N, got {spec!r}")
        return WebcamSource(int(idx), size, fps)
    return FileSource(Path(spec), loop)
