"""--record-to: writes the broadcast output to a video file on its own thread.

Encoding (x264) must not delay the broadcast, so frames go through a bounded queue; when the disk
or encoder cannot keep up, frames are dropped and counted rather than growing memory.
The file appears atomically (temp name, renamed when closed cleanly).
"""
from __future__ import annotations

import queue
import threading
from fractions import Fraction
from pathlib import Path

import numpy as np


class Recorder:
    def __init__(self, path: Path, fps: float, max_queue: int = 64) -> None:
        if path.suffix.lower() not in (".mp4", ".mkv", ".mov"):
            raise ValueError(f"--record-to: expected a .mp4/.mkv/.mov path, got {str(path)!r}")
        self.path, self.fps = path, Fraction(fps).limit_denominator(1001)
        self.frames = 0
        self.drops = 0
        self.error: BaseException | None = None
        self._q: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._loop, name="stylecast-recorder", daemon=True)
        self._thread.start()

    def write(self, frame: np.ndarray) -> None:
        try:
            self._q.put_nowait(frame)
        except queue.Full:
            self.drops += 1

    def close(self, timeout: float = 30.0) -> None:
        self._q.put(None)
        self._thread.join(timeout)

    def _open(self, h: int, w: int):
        from models.io import VideoWriter

        cm = VideoWriter(self.path, width=w, height=h, fps=self.fps)
        writer = cm.__enter__()

        class _Ctx:  # adapt the context manager to write/close(ok)
            def write(self, f: np.ndarray) -> None:
                writer.write(f)

            def close(self, ok: bool) -> None:
                if ok:
                    cm.__exit__(None, None, None)
                else:
                    err = RuntimeError("recording aborted")
                    cm.__exit__(type(err), err, None)

        return _Ctx()

    def _loop(self) -> None:
        writer = None
        size: tuple[int, int] | None = None
        ok = True
        try:
            while (frame := self._q.get()) is not None:
                if writer is None:
                    size = frame.shape[:2]
                    writer = self._open(*size)
                if frame.shape[:2] != size:  # a file has one size; frames of another are skipped
                    self.drops += 1
                    continue
                writer.write(frame)
                self.frames += 1
        except BaseException as exc:  # noqa: BLE001 - reported in /stats, never crashes the server
            self.error, ok = exc, False
            while self._q.get() is not None:  # keep draining so close() returns
                pass
        finally:
            if writer is not None:
                writer.close(ok and self.frames > 0)
