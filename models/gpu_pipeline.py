"""The per-frame path: uint8 frames in, stylized (and temporally blended) uint8 frames out.

On CUDA each batch goes: host memcpy into a pinned buffer -> async upload on an upload stream ->
uint8->float conversion, stylization and the injected per-stream blend on the compute (current)
stream -> float->uint8 -> async download on a download stream into a pinned buffer, with events
ordering the three. Buffers form a ring of ``depth`` slots per shape (double-buffering by
default), so while the GPU works on frame t the host already fills the slot for t+1: the GPU
never waits for a host copy, the host only waits when it is ``depth`` batches ahead.
Frames of several streams with the same resolution are stacked into one forward pass (one
kernel launch sequence for N streams; per-sample instance norm keeps results independent).
On CPU the same code runs synchronously, without pinned memory or streams.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Hashable, Mapping

import numpy as np
import torch
from torch import Tensor

from models.contracts import default_dtype
from models.temporal.blender import prefetch_flow_input

Stylizer = Callable[[Tensor], Tensor]
Blender = Callable[[Tensor, Tensor], Tensor]  # (frame_in, stylized) -> output; per-stream state


def frames_from_u8(u8_nhwc: Tensor, dtype: torch.dtype) -> Tensor:
    """``(N,H,W,3)`` uint8 -> ``(N,3,H,W)`` in [0,1] (a channels_last view: no layout copy)."""
    return u8_nhwc.permute(0, 3, 1, 2).to(dtype) / 255.0


def frames_to_u8(frames: Tensor) -> Tensor:
    """``(N,3,H,W)`` [0,1] -> ``(N,H,W,3)`` uint8, rounded to nearest."""
    return (frames.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class PerResolution:
    """A stylizer that builds one inner stylizer per (H, W) on first use, e.g. one static-shape
    compiled backend per stream resolution: ``PerResolution(lambda h, w: build_backend(...))``."""

    def __init__(self, factory: Callable[[int, int], Stylizer]) -> None:
        self._factory = factory
        self._by_size: dict[tuple[int, int], Stylizer] = {}

    def __call__(self, frames: Tensor) -> Tensor:
        key = (int(frames.shape[-2]), int(frames.shape[-1]))
        if key not in self._by_size:
            self._by_size[key] = self._factory(*key)
        return self._by_size[key](frames)


@dataclass
class _Slot:
    pinned_in: Tensor
    pinned_out: Tensor
    done: "torch.cuda.Event"
    owner: "PendingBatch | None" = None


@dataclass
class PendingBatch:
    """Result handle of :meth:`GpuPipeline.submit`; :meth:`result` waits for the download."""

    ids: list[Hashable]
    _groups: list[tuple[list[Hashable], "_Slot | None", "np.ndarray | None"]] = field(default_factory=list)
    _out: dict[Hashable, np.ndarray] | None = None

    def done(self) -> bool:
        return self._out is not None or all(s is None or s.done.query() for _, s, _ in self._groups)

    def result(self) -> dict[Hashable, np.ndarray]:
        if self._out is None:
            out: dict[Hashable, np.ndarray] = {}
            for ids, slot, arr in self._groups:
                if slot is not None:
                    slot.done.synchronize()
                    arr = slot.pinned_out.numpy().copy()  # the slot is reused: copy out now
                    slot.owner = None
                out.update({sid: arr[i] for i, sid in enumerate(ids)})
            self._out = {sid: out[sid] for sid in self.ids}
            self._groups = []
        return self._out


class GpuPipeline:
    """``submit({stream_id: HxWx3 uint8 RGB})`` -> :class:`PendingBatch`; ``process`` = submit + wait.

    ``stylizer`` maps ``(N,3,H,W)`` -> same (e.g. a :class:`models.backends.Backend`).
    ``blender_factory()`` makes one blender per stream (e.g. ``lambda: TemporalBlender(cfg)``);
    it is called as ``blender(frame_in (1,3,H,W), stylized (1,3,H,W)) -> output``.
    Frames should be C-contiguous, as decoders and ``cv2`` return them: a strided view (a
    ``[..., ::-1]`` channel flip, a transposed array) is accepted, but the host copy into the pinned
    buffer then takes ~8-12 ms per 1080p frame instead of ~0.2-0.6 ms.
    """

    def __init__(
        self,
        stylizer: Stylizer,
        *,
        device: torch.device | str = "cpu",
        dtype: torch.dtype | None = None,
        blender_factory: Callable[[], Blender] | None = None,
        depth: int = 2,
    ) -> None:
        self.device = torch.device(device)
        self.dtype = dtype or default_dtype(self.device)
        self._stylizer = stylizer
        self._blender_factory = blender_factory
        self._blenders: dict[Hashable, Blender] = {}
        self._cuda = self.device.type == "cuda"
        if depth < 1:
            raise ValueError(f"depth: expected >= 1, got {depth}")
        self._depth = depth
        self._rings: dict[tuple[int, int, int], tuple[list[_Slot], list[int]]] = {}
        if self._cuda:
            self._up = torch.cuda.Stream(self.device)
            self._down = torch.cuda.Stream(self.device)

    def reset(self, stream_id: Hashable | None = None) -> None:
        """Forget temporal state of one stream (or all): call on stream end or scene change."""
        if stream_id is None:
            self._blenders.clear()
        else:
            self._blenders.pop(stream_id, None)

    def process(self, frames: Mapping[Hashable, np.ndarray]) -> dict[Hashable, np.ndarray]:
        return self.submit(frames).result()

    def submit(self, frames: Mapping[Hashable, np.ndarray]) -> PendingBatch:
        groups: dict[tuple[int, int], list[Hashable]] = {}
        for sid, f in frames.items():
            if not (isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3):
                got = f"{type(f).__name__} {getattr(f, 'dtype', '')} {getattr(f, 'shape', '')}"
                raise ValueError(f"frame of stream {sid!r}: expected HxWx3 uint8 numpy RGB, got {got}")
            groups.setdefault(f.shape[:2], []).append(sid)
        pending = PendingBatch(ids=list(frames))
        for (h, w), ids in groups.items():
            if self._cuda:
                pending._groups.append((ids, self._run_cuda(frames, ids, h, w, pending), None))
            else:
                u8 = torch.from_numpy(np.stack([frames[s] for s in ids]))
                pending._groups.append((ids, None, self._compute(u8, ids).numpy()))
        return pending

    @torch.no_grad()
    def _compute(self, u8: Tensor, ids: list[Hashable]) -> Tensor:
        x = frames_from_u8(u8, self.dtype)
        blenders = [self._blender(sid) for sid in ids] if self._blender_factory is not None else []
        for i, blender in enumerate(blenders):
            prefetch_flow_input(blender, x[i : i + 1])  # queued ahead of the network (models.temporal.blender)
        y = self._stylizer(x).to(self.dtype)
        if blenders:
            y = torch.cat([blender(x[i : i + 1], y[i : i + 1]) for i, blender in enumerate(blenders)])
        return frames_to_u8(y)

    def _blender(self, sid: Hashable) -> Blender:
        blender = self._blenders.get(sid)
        if blender is None:
            assert self._blender_factory is not None
            blender = self._blenders[sid] = self._blender_factory()
        return blender

    def _slot(self, n: int, h: int, w: int) -> _Slot:
        key = (n, h, w)
        if key not in self._rings:
            if len(self._rings) >= 16:  # resolutions/stream counts changed a lot: drop old rings
                self._rings.clear()
            slots = [
                _Slot(torch.empty((n, h, w, 3), dtype=torch.uint8).pin_memory(),
                      torch.empty((n, h, w, 3), dtype=torch.uint8).pin_memory(), torch.cuda.Event())
                for _ in range(self._depth)
            ]
            self._rings[key] = (slots, [0])
        slots, cursor = self._rings[key]
        slot = slots[cursor[0] % len(slots)]
        cursor[0] += 1
        if slot.owner is not None:  # its previous batch was never collected: collect it now
            slot.owner.result()
        slot.done.synchronize()
        return slot

    def _run_cuda(self, frames: Mapping[Hashable, np.ndarray], ids: list[Hashable], h: int, w: int,
                  owner: PendingBatch) -> _Slot:
        slot = self._slot(len(ids), h, w)
        host = slot.pinned_in.numpy()
        for i, sid in enumerate(ids):
            host[i] = frames[sid]
        compute = torch.cuda.current_stream(self.device)
        with torch.cuda.stream(self._up):
            u8 = slot.pinned_in.to(self.device, non_blocking=True)
        compute.wait_stream(self._up)
        u8.record_stream(compute)  # allocated on the upload stream, consumed on compute
        out = self._compute(u8, ids)
        self._down.wait_stream(compute)
        with torch.cuda.stream(self._down):
            slot.pinned_out.copy_(out, non_blocking=True)
            out.record_stream(self._down)
            slot.done.record(self._down)
        slot.owner = owner
        return slot
