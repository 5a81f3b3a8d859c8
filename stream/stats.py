"""Live-loop statistics: fps, per-stage milliseconds, end-to-end latency, drops.

Latency is measured from the capture timestamp (taken right after the source returned the
frame) to the moment the sink accepted the output, so it includes the time a frame waited in
the input slot. All times come from ``time.perf_counter``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

STAGES = ("wait", "upload", "stylize", "temporal", "upscale", "download", "sink")


@dataclass(frozen=True)
class FrameTiming:
    index: int  # source frame index
    t_capture: float
    t_done: float
    stages_ms: dict[str, float]

    @property
    def latency_ms(self) -> float:
        return (self.t_done - self.t_capture) * 1000.0


@dataclass
class LiveStats:
    """Accumulates :class:`FrameTiming` records; ``window`` recent ones feed the live display."""

    window: int = 60
    keep: int = 100_000  # full history cap (latency-growth checks over long runs)
    processed: int = 0
    dropped: int = 0
    captured: int = 0
    scene_cuts: int = 0
    recent: deque = field(default_factory=deque)
    latencies_ms: list = field(default_factory=list)
    stage_sums: dict = field(default_factory=lambda: {s: 0.0 for s in STAGES})

    def record(self, timing: FrameTiming) -> None:
        self.processed += 1
        self.recent.append(timing)
        while len(self.recent) > self.window:
            self.recent.popleft()
        if len(self.latencies_ms) < self.keep:
            self.latencies_ms.append(timing.latency_ms)
        for k, v in timing.stages_ms.items():
            self.stage_sums[k] = self.stage_sums.get(k, 0.0) + v

    def fps(self) -> float:
        """Output frames per second over the recent window."""
        if len(self.recent) < 2:
            return 0.0
        span = self.recent[-1].t_done - self.recent[0].t_done
        return (len(self.recent) - 1) / span if span > 0 else 0.0

    def recent_stage_ms(self) -> dict[str, float]:
        n = max(len(self.recent), 1)
        return {s: sum(t.stages_ms.get(s, 0.0) for t in self.recent) / n for s in STAGES}

    def line(self) -> str:
        """One status line: ``12.3 fps | lat 85 ms | stylize 70.1 ...| drops 4``."""
        lat = [t.latency_ms for t in self.recent]
        st = self.recent_stage_ms()
        stages = " ".join(f"{k} {v:.1f}" for k, v in st.items() if k != "wait")
        return (f"{self.fps():5.1f} fps | latency {np.mean(lat) if lat else 0:.0f} ms | {stages} ms | "
                f"dropped {self.dropped}")

    def summary(self) -> dict[str, float]:
        lat = np.asarray(self.latencies_ms, dtype=np.float64)
        n = max(self.processed, 1)
        out = {
            "processed": float(self.processed),
            "captured": float(self.captured),
            "dropped": float(self.dropped),
            "scene_cuts": float(self.scene_cuts),
            "fps": self.fps(),
            "latency_mean_ms": float(lat.mean()) if lat.size else 0.0,
            "latency_p95_ms": float(np.percentile(lat, 95)) if lat.size else 0.0,
            "latency_max_ms": float(lat.max()) if lat.size else 0.0,
        }
        out.update({f"{k}_ms": v / n for k, v in self.stage_sums.items()})
        return out

    def report(self) -> str:
        s = self.summary()
        stages = ", ".join(f"{k} {s[f'{k}_ms']:.1f}" for k in STAGES)
        return (f"{int(s['processed'])} frames out, {int(s['captured'])} captured, {int(s['dropped'])} dropped, "
                f"{int(s['scene_cuts'])} scene cuts; latency mean {s['latency_mean_ms']:.0f} ms, "
                f"p95 {s['latency_p95_ms']:.0f} ms, max {s['latency_max_ms']:.0f} ms; per frame (ms): {stages}; "
                f"{s['fps']:.2f} fps end to end (last {len(self.recent)} frames)")
