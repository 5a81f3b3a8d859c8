"""``--source whip``: the broadcast's source is whatever a WHIP publisher (OBS, a browser) sends.

A one-slot, latest-frame-wins hand-over from the event loop (where aiortc decodes the incoming
track) to the broadcast's reader thread: :meth:`put` replaces the slot, :meth:`read` blocks on
the reader thread until a newer frame arrives and converts it to RGB there (not loop work).
With no publisher it simply waits; :meth:`close` (called by the app before the broadcaster's own
close, which queues behind a blocked read) releases it.
"""
from __future__ import annotations

import threading

import av
import numpy as np


class WhipSource:
    live = True  # real-time frames: the broadcast never skip-reads to catch up

    def __init__(self, fps: float = 30.0) -> None:
        self.fps = fps  # pacing upper bound; a publisher's real rate is what arrives
        self.description = "WHIP ingest (waiting for a publisher)"
        self._cond = threading.Condition()
        self._frame: av.VideoFrame | None = None
        self._seq = 0
        self._read_seq = 0
        self._closed = False

    def put(self, frame: av.VideoFrame) -> None:
        with self._cond:
            self._frame = frame
            self._seq += 1
            self._cond.notify()

    def publisher(self, description: str | None) -> None:
        self.description = description or "WHIP ingest (waiting for a publisher)"

    def read(self) -> np.ndarray | None:
        with self._cond:
            while self._seq == self._read_seq and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            frame, self._read_seq = self._frame, self._seq
        assert frame is not None
        return frame.to_ndarray(format="rgb24")

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._frame = None
            self._cond.notify_all()
