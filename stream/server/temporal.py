"""Per-stream temporal blender: ``models.temporal.TemporalBlender`` when available.

Each stream (mirror peer, or the one broadcast) owns one blender; it is only ever called from the
worker thread. Until ``models.temporal`` lands, :class:`FlowBlender` stands in with the same
call signature: Ruder et al. 2016 style short-term consistency (warp the previous output with
DIS flow, blend where the forward-backward check says the flow is reliable).
"""
from __future__ import annotations

from typing import Any, Callable

from torch import Tensor

Blender = Callable[[Tensor, Tensor], Tensor]


class FlowBlender:
    """Stand-in for ``models.temporal.TemporalBlender``: ``(frame_in, stylized) -> out``."""

    def __init__(self, strength: float = 0.7) -> None:
        from models.flow import DISConfig, DISFlow

        self.strength = strength
        self._flow = DISFlow(DISConfig(preset="ultrafast", max_side=320))
        self._prev_in: Tensor | None = None
        self._prev_out: Tensor | None = None

    def reset(self) -> None:
        self._prev_in = self._prev_out = None

    def __call__(self, frame_in: Tensor, stylized: Tensor) -> Tensor:
        from models.consistency import consistency_weights
        from models.warp import blend, warp

        out = stylized
        if self._prev_in is not None and self._prev_in.shape == frame_in.shape and self.strength > 0:
            # flow_bwd: cur -> prev, so warp(prev, flow_bwd) is aligned with the current frame
            flow_bwd = self._flow(frame_in.float(), self._prev_in.float())
            flow_fwd = self._flow(self._prev_in.float(), frame_in.float())
            conf = consistency_weights(flow_bwd, flow_fwd).to(stylized.dtype)
            warped = warp(self._prev_out, flow_bwd.to(stylized.dtype))
            out = blend(stylized, warped, conf, strength=self.strength)
        self._prev_in, self._prev_out = frame_in, out
        return out


def make_blender(strength: float) -> Any:
    """A fresh blender with the given strength (the config is frozen, so strength changes make a new one)."""
    try:
        from models.temporal import TemporalBlender, TemporalConfig
    except ImportError:
        return FlowBlender(strength=strength)
    return TemporalBlender(config=TemporalConfig(strength=strength))
