"""Per-frame server latency (receive -> send), fps and drop counters.

Latency is measured from the moment a frame is taken off the incoming track (or produced by the
broadcast source) to the moment the stylized frame is handed to aiortc's encoder, i.e. the server's
own contribution, excluding network and codec delays which the browser reports separately.
"""
from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

import numpy as np


@dataclass
class FrameStats:
    window: int = 300
    frames: int = 0
    drops: int = 0
    width: int = 0
    height: int = 0
    backend: str = ""  # what ran this stream's network on the last frame (eager / compile[...])
    _lat: collections.deque = field(default_factory=collections.deque)
    _times: collections.deque = field(default_factory=collections.deque)

    def record(self, latency_s: float, *, width: int, height: int, now: float | None = None,
               backend: str | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.frames += 1
        if backend is not None:
            self.backend = backend
        self.width, self.height = width, height
        self._lat.append(latency_s)
        self._times.append(now)
        while len(self._lat) > self.window:
            self._lat.popleft()
        # fps over the last 2 s: short enough to follow a style switch, long enough to be stable
        while self._times and now - self._times[0] > 2.0:
            self._times.popleft()

    def drop(self, n: int = 1) -> None:
        self.drops += n

    def fps(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        ts = [t for t in self._times if now - t <= 2.0]
        if len(ts) < 2:
            return 0.0
        span = max(now - ts[0], ts[-1] - ts[0])
        return (len(ts) - 1) / span if span > 0 else 0.0

    def latency_ms(self) -> dict[str, float | int]:
        if not self._lat:
            return {"count": 0, "p50": 0.0, "p90": 0.0, "p99": 0.0, "max": 0.0}
        a = np.asarray(self._lat) * 1000.0
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        return {"count": int(a.size), "p50": round(float(p50), 2), "p90": round(float(p90), 2),
                "p99": round(float(p99), 2), "max": round(float(a.max()), 2)}

    def snapshot(self) -> dict:
        return {"frames": self.frames, "drops": self.drops, "fps": round(self.fps(), 2),
                "resolution": [self.width, self.height], "latency_ms": self.latency_ms(), "backend": self.backend}


def merge(parts: list[FrameStats]) -> dict:
    """Aggregate several streams: summed counters/fps, percentiles over all recent samples."""
    lat: list[float] = []
    for p in parts:
        lat.extend(p._lat)
    agg = FrameStats(window=max(1, len(lat)))
    agg._lat.extend(lat)
    return {"frames": sum(p.frames for p in parts), "drops": sum(p.drops for p in parts),
            "fps": round(sum(p.fps() for p in parts), 2), "latency_ms": agg.latency_ms()}
