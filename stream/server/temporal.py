"""Per-stream temporal blender for the server (``models.temporal.blender.TemporalBlender``).

Each stream (mirror peer, or the one broadcast) owns one blender; it is only ever called from the
worker thread.
"""
from __future__ import annotations

from models.flow.estimators import FlowEstimator
from models.temporal.blender import TemporalBlender, TemporalConfig

# One default for `stylecast live`, `stylecast serve` and the page: the measured one.
DEFAULT_STRENGTH: float = TemporalConfig().strength


def make_blender(strength: float, flow: FlowEstimator | None = None) -> TemporalBlender:
    """A fresh blender with the given strength (the config is frozen, so strength changes make a new
    one); ``flow``: an injected optical flow estimator (None: OpenCV DIS)."""
    return TemporalBlender(config=TemporalConfig(strength=strength), flow=flow)
