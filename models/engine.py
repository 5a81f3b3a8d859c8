"""The one frame engine every app runs: uint8 frames in, stylized (temporally blended) uint8 out.

``stylecast live`` (stream.loop), ``serve`` (stream.server.worker, mirror and broadcast),
``stylize`` and ``video --method fast`` (offline) and the benchmarks all call
:class:`FrameEngine`, so what the benchmarks time is what the apps run.

Per batch: upload -> uint8->float -> optional fit (server: max side, even size) -> render scale
(the network runs at a reduced size, :mod:`models.guided`) -> stylizer -> per-stream temporal
step at the network's size -> guided upsampling to the frame's size -> float->uint8 -> download.
The temporal step runs at the network's size because its cost (warp, mask, detail restore) scales
with area like the network's, and the guided upsampling that follows takes its edges from the
full-size *input*, which is as stable as the input itself.

On the CPU :meth:`FrameEngine.submit` runs the front half (upload, fit, render scale, network)
in the caller and hands the back half (temporal step, guided upsampling, float->uint8) to the
engine's one finisher thread, so a caller that submits frame t+1 before collecting frame t
(``stylecast live`` does) runs t+1's network while t is blended and upsampled: on a 2-core
machine the two halves take about the same CPU time, and overlapped they cost about one
(docs/bench/render_scale.md §9). The finisher runs batches in submission order, so per-stream
temporal state sees its frames in order. ``process`` (submit + wait) behaves as before.

On CUDA each batch goes: host memcpy into a pinned buffer -> async upload on an upload stream ->
compute on the current stream -> async download on a download stream into a pinned buffer, with
events ordering the three. Buffers form a ring of ``depth`` slots per shape (double-buffering by
default), so while the GPU works on frame t the host already fills the slot for t+1: the GPU
never waits for a host copy, the host only waits when it is ``depth`` batches ahead.
Frames of several streams with the same size are stacked into one forward pass (per-sample
instance norm keeps results independent). On CPU the same code runs synchronously, without
pinned memory or streams.

The stylizer and the blenders are arguments of each call, not of the engine: the live loop
swaps styles and the server serves many styles, and each stream owns its blender state.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Hashable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from models.contracts import default_dtype
from models.guided import RenderScale, downscale, guided_upsample
from models.flow.estimators import FlowEstimator
from models.temporal.blender import TemporalBlender, TemporalConfig, prefetch_flow_input

Stylizer = Callable[[Tensor], Tensor]
Blender = Callable[[Tensor, Tensor], Tensor]  # (frame_in, stylized) -> output; per-stream state


def frames_from_u8(u8_nhwc: Tensor, dtype: torch.dtype) -> Tensor:
    """``(N,H,W,3)`` uint8 -> ``(N,3,H,W)`` in [0,1] (a channels_last view: no layout copy)."""
    return u8_nhwc.permute(0, 3, 1, 2).to(dtype) / 255.0


def frames_to_u8(frames: Tensor) -> Tensor:
    """``(N,3,H,W)`` [0,1] -> ``(N,H,W,3)`` uint8, rounded to nearest."""
    return (frames.float() * 255.0).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous()


class StylizerOutputError(ValueError):
    """The injected stylizer returned something other than a tensor of its input's shape (callers
    that know the style's name catch this type to say which style)."""


@dataclass(frozen=True)
class Fit:
    """Input fitting done on the device after the upload (the server's): downscale so the longer
    side is at most ``max_side`` (area), crop to even height/width when ``even`` (yuv420p)."""

    max_side: int | None = None
    even: bool = False

    def size(self, h: int, w: int) -> tuple[int, int]:
        s = 1.0 if self.max_side is None else min(1.0, self.max_side / max(h, w))
        nh, nw = (int(h * s), int(w * s)) if s < 1.0 else (h, w)
        if self.even:
            nh, nw = max(2, nh // 2 * 2), max(2, nw // 2 * 2)
        return nh, nw

    def __call__(self, x: Tensor) -> Tensor:
        h, w = x.shape[-2:]
        s = 1.0 if self.max_side is None else min(1.0, self.max_side / max(h, w))
        nh, nw = self.size(h, w)
        if s < 1.0:
            x = F.interpolate(x, size=(int(h * s), int(w * s)), mode="area")
        return x[..., :nh, :nw]


@dataclass
class _Slot:
    pinned_in: Tensor
    pinned_out: Tensor
    done: "torch.cuda.Event"
    owner: "PendingBatch | None" = None


@dataclass
class PendingBatch:
    """Result handle of :meth:`FrameEngine.submit`; :meth:`result` waits for the download (CUDA)
    or for the finisher thread's back half (CPU). ``timings``: ms per stage of this batch, complete
    once :meth:`result` has returned."""

    ids: list[Hashable]
    # per group of equal-size frames: (ids, CUDA slot, host array, CPU back-half future)
    _groups: list[tuple[list[Hashable], "_Slot | None", "np.ndarray | None", "Future | None"]] = field(default_factory=list)
    _out: dict[Hashable, np.ndarray] | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def done(self) -> bool:
        return self._out is not None or all(
            (s is None or s.done.query()) and (f is None or f.done()) for _, s, _, f in self._groups)

    def result(self) -> dict[Hashable, np.ndarray]:
        if self._out is None:
            out: dict[Hashable, np.ndarray] = {}
            for ids, slot, arr, fut in self._groups:
                if slot is not None:
                    slot.done.synchronize()
                    arr = slot.pinned_out.numpy().copy()  # the slot is reused: copy out now
                    slot.owner = None
                elif fut is not None:
                    arr = fut.result()
                out.update({sid: arr[i] for i, sid in enumerate(ids)})
            self._out = {sid: out[sid] for sid in self.ids}
            self._groups = []
        return self._out


def check_u8_frame(f: object, sid: Hashable = 0) -> np.ndarray:
    if not (isinstance(f, np.ndarray) and f.dtype == np.uint8 and f.ndim == 3 and f.shape[2] == 3):
        got = f"{type(f).__name__} {getattr(f, 'dtype', '')} {getattr(f, 'shape', '')}"
        raise ValueError(f"frame of stream {sid!r}: expected HxWx3 uint8 numpy RGB, got {got}")
    return f


class FrameEngine:
    """``submit({stream_id: HxWx3 uint8 RGB}, stylizer, blenders)`` -> :class:`PendingBatch`;
    ``process`` = submit + wait; ``process_frame`` for one frame; ``stylize_tensor`` for callers
    that already hold float frames on the device (offline).

    ``render``: the network's size (:class:`models.guided.RenderScale`; default full size).
    ``flow``: the optical flow of the temporal step, injected into the blenders made by
    :meth:`blender` (callers may also pass blenders of their own).
    ``fit``: input fitting after the upload (:class:`Fit`; default none).
    ``timings``: ms per stage of the last collected batch (upload, stylize, temporal, upscale,
    download; of each submitted batch: ``PendingBatch.timings``); on CUDA these are host times
    (enqueue), the download one includes the wait for the GPU; on the CPU temporal, upscale and
    download are the finisher thread's.
    Frames should be C-contiguous, as decoders and ``cv2`` return them: a strided view costs
    ~8-12 ms per 1080p frame in the host copy into the pinned buffer instead of ~0.2-0.6 ms.
    """

    def __init__(self, *, device: torch.device | str = "cpu", dtype: torch.dtype | None = None,
                 render: RenderScale | None = None, fit: Fit | None = None, depth: int = 2,
                 flow: FlowEstimator | None = None) -> None:
        self.device = torch.device(device)
        self.dtype = dtype or default_dtype(self.device)
        self.render = render or RenderScale()
        self.fit = fit or Fit()
        self.flow = flow
        if depth < 1:
            raise ValueError(f"depth: expected >= 1, got {depth}")
        self._depth = depth
        self._cuda = self.device.type == "cuda"
        self._rings: dict[tuple[int, int, int], tuple[list[_Slot], list[int]]] = {}
        self.timings: dict[str, float] = {}
        self._finisher_pool: ThreadPoolExecutor | None = None
        self._finisher_lock = threading.Lock()
        if self._cuda:
            self._up = torch.cuda.Stream(self.device)
            self._down = torch.cuda.Stream(self.device)

    def blender(self, config: TemporalConfig | None = None) -> TemporalBlender:
        """A new per-stream temporal blender using the engine's injected ``flow`` estimator (any
        ``(frame_a, frame_b) -> flow`` of :mod:`models.flow.estimators`, e.g. a GPU flow; None: OpenCV DIS)."""
        return TemporalBlender(config, flow=self.flow)

    def output_size(self, h: int, w: int) -> tuple[int, int]:
        return self.fit.size(h, w)

    # -- float frames on the device ----------------------------------------------------------
    @torch.no_grad()
    def stylize_tensor(self, x: Tensor, stylizer: Stylizer,
                       blenders: Sequence[Blender | None] | None = None) -> Tensor:
        """``(N,3,H,W)`` float frames -> stylized, same shape and dtype: render scale, stylizer,
        ``blenders[i]`` (or None) on frame i at the network's size, guided upsampling."""
        self.timings = timings = {}
        small, y = self._front(x, stylizer, blenders, timings)
        return self._back(x, small, y, blenders, timings)

    def _front(self, x: Tensor, stylizer: Stylizer, blenders: Sequence[Blender | None] | None,
               timings: dict[str, float]) -> tuple[Tensor, Tensor]:
        """Render scale + network: ``(small input, network output)``."""
        t0 = time.perf_counter()
        small = downscale(x, self.render.size(*x.shape[-2:]))
        if blenders:
            if len(blenders) != x.shape[0]:
                raise ValueError(f"blenders: expected one per frame ({x.shape[0]}), got {len(blenders)}")
            for i, blender in enumerate(blenders):
                prefetch_flow_input(blender, small[i:i + 1])  # queued ahead of the network (models.temporal.blender)
        y = stylizer(small)
        if not isinstance(y, Tensor) or y.shape != small.shape:
            raise StylizerOutputError(f"stylizer: expected output shape {tuple(small.shape)}, "
                             f"got {tuple(getattr(y, 'shape', ())) or type(y).__name__}")
        _add(timings, "stylize", t0)
        return small, y.to(x.dtype)

    def _back(self, x: Tensor, small: Tensor, y: Tensor, blenders: Sequence[Blender | None] | None,
              timings: dict[str, float]) -> Tensor:
        """Temporal step at the network's size + guided upsampling to ``x``'s size."""
        t0 = time.perf_counter()
        if blenders and any(b is not None for b in blenders):
            y = torch.cat([y[i:i + 1] if b is None else b(small[i:i + 1], y[i:i + 1]) for i, b in enumerate(blenders)])
        _add(timings, "temporal", t0)
        t0 = time.perf_counter()
        if small is not x:
            y = guided_upsample(y, small, x, radius=self.render.radius, eps=self.render.eps, sharpen=self.render.sharpen)
        _add(timings, "upscale", t0)
        return y

    # -- uint8 frames on the host ------------------------------------------------------------
    def process_frame(self, frame: np.ndarray, stylizer: Stylizer, blender: Blender | None = None) -> np.ndarray:
        """One HxWx3 uint8 frame -> its stylized HxWx3 uint8 (fitted size)."""
        return self.process({0: frame}, stylizer, {0: blender} if blender is not None else None)[0]

    def process(self, frames: Mapping[Hashable, np.ndarray], stylizer: Stylizer,
                blenders: Mapping[Hashable, Blender | None] | None = None) -> dict[Hashable, np.ndarray]:
        pending = self.submit(frames, stylizer, blenders)
        return self.collect(pending)

    def collect(self, pending: PendingBatch) -> dict[Hashable, np.ndarray]:
        """``pending.result()``; its stage timings become :attr:`timings` (the last collected batch)."""
        t0 = time.perf_counter()
        out = pending.result()
        if self._cuda:
            _add(pending.timings, "download", t0)
        self.timings = pending.timings
        return out

    def submit(self, frames: Mapping[Hashable, np.ndarray], stylizer: Stylizer,
               blenders: Mapping[Hashable, Blender | None] | None = None) -> PendingBatch:
        """Frames of one size are stacked into one forward pass; ``blenders[id]`` (None or
        missing: no temporal step) is that stream's temporal state. On the CPU the network runs
        here and the rest on the finisher thread (module doc); errors of the front half (bad
        frames, a failing stylizer) raise here, those of the back half from ``result()``."""
        groups: dict[tuple[int, int], list[Hashable]] = {}
        for sid, f in frames.items():
            groups.setdefault(check_u8_frame(f, sid).shape[:2], []).append(sid)
        pending = PendingBatch(ids=list(frames))
        timings = pending.timings
        for (h, w), ids in groups.items():
            bl = [blenders.get(sid) for sid in ids] if blenders else None
            if self._cuda:
                pending._groups.append((ids, self._run_cuda(frames, ids, h, w, stylizer, bl, pending), None, None))
                continue
            t0 = time.perf_counter()
            u8 = torch.from_numpy(frames[ids[0]][None] if len(ids) == 1 else np.stack([frames[s] for s in ids]))
            x, small, y = self._upload_front(u8, stylizer, bl, timings, t0)
            # Grad mode is per thread: the finisher runs in the caller's (inference mode or no_grad).
            inference = torch.is_inference_mode_enabled()
            pending._groups.append((ids, None, None, self._finisher().submit(
                self._finish_cpu, x, small, y, bl, timings, inference)))
        return pending

    def when_done(self, pending: PendingBatch, callback: Callable[[PendingBatch], None]) -> None:
        """Call ``callback(pending)`` when ``pending.result()`` is ready or about to be: on the
        CPU on the finisher thread right after the batch's back half (so a server's worker
        thread can take the next frame meanwhile), on CUDA here (its ``result()`` waits for the
        download)."""
        if self._cuda or all(fut is None for *_, fut in pending._groups):
            callback(pending)  # its pending.result() waits for the download
            return
        self._finisher().submit(callback, pending)  # FIFO on one thread: after the back half

    def _finisher(self) -> ThreadPoolExecutor:
        with self._finisher_lock:
            if self._finisher_pool is None:
                self._finisher_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylecast-finish")
            return self._finisher_pool

    def _finish_cpu(self, x: Tensor, small: Tensor, y: Tensor, blenders: Sequence[Blender | None] | None,
                    timings: dict[str, float], inference: bool) -> np.ndarray:
        with torch.inference_mode() if inference else torch.no_grad():
            return self._back_u8(x, small, y, blenders, timings).numpy()

    def close(self) -> None:
        """Stop the finisher thread (pending batches finish first). The engine stays usable: a
        later CPU submit starts a new one."""
        with self._finisher_lock:
            pool, self._finisher_pool = self._finisher_pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    @torch.no_grad()
    def _upload_front(self, u8: Tensor, stylizer: Stylizer, blenders: Sequence[Blender | None] | None,
                      timings: dict[str, float], t0: float) -> tuple[Tensor, Tensor, Tensor]:
        """uint8 -> float, fit (the "upload" stage since ``t0``), render scale + network:
        ``(frames, small input, network output)``."""
        x = self.fit(frames_from_u8(u8, self.dtype))
        _add(timings, "upload", t0)
        return (x, *self._front(x, stylizer, blenders, timings))

    def _back_u8(self, x: Tensor, small: Tensor, y: Tensor, blenders: Sequence[Blender | None] | None,
                 timings: dict[str, float]) -> Tensor:
        """:meth:`_back` + float -> ``(N,H,W,3)`` uint8 (the "download" stage)."""
        y = self._back(x, small, y, blenders, timings)
        t0 = time.perf_counter()
        out = frames_to_u8(y)
        _add(timings, "download", t0)
        return out

    @torch.no_grad()
    def _compute(self, u8: Tensor, stylizer: Stylizer, blenders: Sequence[Blender | None] | None,
                 timings: dict[str, float]) -> Tensor:
        return self._back_u8(*self._upload_front(u8, stylizer, blenders, timings, time.perf_counter()), blenders, timings)

    def _slot(self, n: int, h: int, w: int) -> _Slot:
        key = (n, h, w)
        if key not in self._rings:
            if len(self._rings) >= 16:  # resolutions/stream counts changed a lot: drop old rings
                self._rings.clear()
            oh, ow = self.output_size(h, w)
            slots = [
                _Slot(torch.empty((n, h, w, 3), dtype=torch.uint8).pin_memory(),
                      torch.empty((n, oh, ow, 3), dtype=torch.uint8).pin_memory(), torch.cuda.Event())
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
                  stylizer: Stylizer, blenders: Sequence[Blender | None] | None, owner: PendingBatch) -> _Slot:
        t0 = time.perf_counter()
        slot = self._slot(len(ids), h, w)
        host = slot.pinned_in.numpy()
        for i, sid in enumerate(ids):
            host[i] = frames[sid]
        compute = torch.cuda.current_stream(self.device)
        with torch.cuda.stream(self._up):
            u8 = slot.pinned_in.to(self.device, non_blocking=True)
        compute.wait_stream(self._up)
        u8.record_stream(compute)  # allocated on the upload stream, consumed on compute
        _add(owner.timings, "upload", t0)
        out = self._compute(u8, stylizer, blenders, owner.timings)
        self._down.wait_stream(compute)
        with torch.cuda.stream(self._down):
            slot.pinned_out.copy_(out, non_blocking=True)
            out.record_stream(self._down)
            slot.done.record(self._down)
        slot.owner = owner
        return slot


def _add(timings: dict[str, float], stage: str, t0: float) -> None:
    timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - t0) * 1e3
