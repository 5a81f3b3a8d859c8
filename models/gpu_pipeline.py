"""Stream-keyed front end of :class:`models.engine.FrameEngine` (the code that was here moved
there; this keeps the benchmarks' and tests' API): one stylizer, one blender per stream id.

``GpuPipeline(stylizer, blender_factory=...).submit({stream_id: HxWx3 uint8})`` runs the
engine with each stream's own blender (made by ``blender_factory()`` on first sight).
"""
from __future__ import annotations

from typing import Callable, Hashable, Mapping

import numpy as np
import torch

from models.engine import Blender, FrameEngine, PendingBatch, Stylizer, frames_from_u8, frames_to_u8
from models.guided import RenderScale

__all__ = ["GpuPipeline", "PendingBatch", "PerResolution", "frames_from_u8", "frames_to_u8"]


class PerResolution:
    """A stylizer that builds one inner stylizer per (H, W) on first use, e.g. one static-shape
    compiled backend per stream resolution: ``PerResolution(lambda h, w: build_backend(...))``."""

    def __init__(self, factory: Callable[[int, int], Stylizer]) -> None:
        self._factory = factory
        self._by_size: dict[tuple[int, int], Stylizer] = {}

    def __call__(self, frames):  # type: ignore[no-untyped-def]
        key = (int(frames.shape[-2]), int(frames.shape[-1]))
        if key not in self._by_size:
            self._by_size[key] = self._factory(*key)
        return self._by_size[key](frames)


class GpuPipeline:
    """``submit({stream_id: HxWx3 uint8 RGB})`` -> :class:`PendingBatch`; ``process`` = submit + wait.

    ``stylizer`` maps ``(N,3,H,W)`` -> same (e.g. a :class:`models.backends.Backend`).
    ``blender_factory()`` makes one blender per stream (e.g. ``lambda: TemporalBlender(cfg)``).
    """

    def __init__(self, stylizer: Stylizer, *, device: torch.device | str = "cpu", dtype: torch.dtype | None = None,
                 blender_factory: Callable[[], Blender] | None = None, depth: int = 2,
                 render: RenderScale | None = None) -> None:
        self.engine = FrameEngine(device=device, dtype=dtype, render=render, depth=depth)
        self.device, self.dtype = self.engine.device, self.engine.dtype
        self._stylizer = stylizer
        self._blender_factory = blender_factory
        self._blenders: dict[Hashable, Blender] = {}

    def reset(self, stream_id: Hashable | None = None) -> None:
        """Forget temporal state of one stream (or all): call on stream end or scene change."""
        if stream_id is None:
            self._blenders.clear()
        else:
            self._blenders.pop(stream_id, None)

    def process(self, frames: Mapping[Hashable, np.ndarray]) -> dict[Hashable, np.ndarray]:
        return self.submit(frames).result()

    def submit(self, frames: Mapping[Hashable, np.ndarray]) -> PendingBatch:
        blenders = None
        if self._blender_factory is not None:
            blenders = {sid: self._blender(sid) for sid in frames}
        return self.engine.submit(frames, self._stylizer, blenders)

    def _blender(self, sid: Hashable) -> Blender:
        blender = self._blenders.get(sid)
        if blender is None:
            assert self._blender_factory is not None
            blender = self._blenders[sid] = self._blender_factory()
        return blender
