"""Broadcast sources: the embedded sample clip, a video file (looped), or a webcam.

Each source is a blocking ``read() -> HxWx3 uint8 RGB | None`` (None = ended) called from a
thread, never from the event loop. Sources are opened (and validated) before the server starts,
so a bad path is a one-line CLI error instead of a dead broadcast.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from models.errors import UserError


class FrameSource(Protocol):
    fps: float
    description: str

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


class SampleSource:
    """The embedded sample clip (``models.sample``), played back and forth forever."""

    def __init__(self, size: tuple[int, int], fps: float, n: int = 48) -> None:
        self.fps, self.description = fps, f"embedded sample {size[1]}x{size[0]}"
        self._size, self._n = size, n
        self._frames: list[np.ndarray] = []
        self._i = 0

    def read(self) -> np.ndarray:
        if not self._frames:
            # rendered on first read (the source thread), not at startup: ~0.2 s/frame at 640x480
            self._frames = _sample_frames(self._n, self._size)
            # ping-pong instead of wrap-around: no jump cut at the loop point
            self._order = list(range(len(self._frames))) + list(range(len(self._frames) - 2, 0, -1))
        f = self._frames[self._order[self._i % len(self._order)]]
        self._i += 1
        return f

    def close(self) -> None:
        self._frames = []


def _sample_frames(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    try:
        from models.sample import sample_frames
    except ImportError:
        return _procedural(n, size)
    res = sample_frames(n=n, size=size)
    frames = res[0] if isinstance(res, tuple) else res
    if hasattr(frames, "detach"):  # (N,3,H,W) tensor in [0,1]
        frames = (frames.detach().float().clamp(0, 1) * 255 + 0.5).byte().permute(0, 2, 3, 1).cpu().numpy()
    return [np.ascontiguousarray(f, dtype=np.uint8) for f in frames]


def _procedural(n: int, size: tuple[int, int]) -> list[np.ndarray]:
    """Fallback clip: a textured background panning behind a moving disc."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for t in range(n):
        xs = x + 3.0 * t
        img = np.stack([0.5 + 0.4 * np.sin(xs / 23.0), 0.5 + 0.4 * np.cos(y / 17.0 + xs / 41.0),
                        0.6 + 0.3 * np.sin((xs + y) / 31.0)], axis=-1)
        cx, cy = w * (0.2 + 0.6 * t / max(1, n - 1)), h * 0.5
        img[(x - cx) ** 2 + (y - cy) ** 2 < (0.18 * h) ** 2] = (0.95, 0.75, 0.2)
        out.append((img * 255).astype(np.uint8))
    return out


class FileSource:
    """A video file, looped when ``loop`` (``models.media`` reader, PyAV directly as fallback)."""

    def __init__(self, path: Path, loop: bool) -> None:
        if not path.is_file():
            raise UserError(f"broadcast source: expected a video file, got {str(path)!r} (not found)")
        self.path, self.loop = path, loop
        self._it: Iterator[np.ndarray] | None = None
        self._reader = None
        self._open()
        self.description = f"file {path.name}"
        first = self.read()
        if first is None:
            raise UserError(f"broadcast source: expected a video with frames, got none in {str(path)!r}")
        self._pending: np.ndarray | None = first

    def _open(self) -> None:
        try:
            from models.media import open_video
        except ImportError:
            open_video = None
        try:
            if open_video is not None:
                self._reader = open_video(self.path)
                self.fps = float(self._reader.fps)
                self._it = iter(self._reader)
            else:
                import av

                self._reader = av.open(str(self.path))
                stream = self._reader.streams.video[0]
                self.fps = float(stream.average_rate or 30)
                self._it = (f.to_ndarray(format="rgb24") for f in self._reader.decode(stream))
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - PyAV raises many types for unreadable files
            raise UserError(f"broadcast source: expected a readable video, got {str(self.path)!r} ({exc})") from exc

    def read(self) -> np.ndarray | None:
        if getattr(self, "_pending", None) is not None:
            f, self._pending = self._pending, None
            return f
        assert self._it is not None
        f = next(self._it, None)
        if f is None and self.loop:
            self.close()
            self._open()
            f = next(self._it, None)
        return f

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class WebcamSource:
    live = True  # frames arrive in real time: never skip-read to catch up

    def __init__(self, index: int, size: tuple[int, int], fps: float) -> None:
        import cv2

        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            raise UserError(f"broadcast source: expected a webcam at index {index}, got none (try --source sample)")
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[0])
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[1])
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or fps)
        self.description = f"webcam {index}"

    def read(self) -> np.ndarray | None:
        ok, bgr = self._cap.read()
        return np.ascontiguousarray(bgr[:, :, ::-1]) if ok else None

    def close(self) -> None:
        self._cap.release()


def webcam_available(index: int = 0) -> bool:
    return Path(f"/dev/video{index}").exists()


def open_source(spec: str, *, size: tuple[int, int], fps: float, loop: bool, sample_frames: int = 48) -> FrameSource:
    if spec == "sample":
        return SampleSource(size, fps, n=sample_frames)
    if spec == "webcam" or spec.startswith("webcam:"):
        idx = spec.partition(":")[2] or "0"
        if not idx.isdigit():
            raise UserError(f"broadcast source: expected webcam or webcam:N, got {spec!r}")
        return WebcamSource(int(idx), size, fps)
    return FileSource(Path(spec), loop)
