"""The one compute thread shared by every peer.

All model work (loading, stylization, temporal blending) runs here, never on the asyncio event
loop: a 30 ms forward pass on the loop would stall every peer's RTP/DTLS timers. One thread (not
a pool) because a GPU serializes kernels anyway and a single owner keeps the stylizer cache and
per-stream blender state free of locks. Callers get a ``concurrent.futures.Future``; async code
awaits it through :meth:`StyleWorker.run`.

Back-pressure is the caller's job: each stream keeps at most one job in flight (latest frame
wins, see :mod:`stream.server.tracks`), so this queue never holds more than one job per stream.

Frames go through one :class:`models.engine.FrameEngine` (the code ``stylecast live`` runs).
Frame jobs (:meth:`StyleWorker.submit_frame`) waiting together for the same style, blend,
colours and size, e.g. several mirror peers of one camera size, are stacked into one forward
pass; each stream keeps its own temporal state.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from models.nets.color import ColorPreserving, preserve_color
from models.contracts import default_dtype
from models.engine import Fit, FrameEngine, StylizerOutputError
from models.guided import RenderScale

Stylizer = Callable[[Tensor], Tensor]
StylizerFactory = Callable[[str], Stylizer]


@dataclass(frozen=True)
class Stylized:
    frame: np.ndarray  # HxWx3 uint8 RGB, even H and W (yuv420p encoders need them)
    style: str
    compute_s: float
    mix: dict[str, float] | None = None  # multi-style: the blend actually applied (non-zero weights)
    backend: str = "eager"  # what ran the network for this frame (eager / compile[...] / eager (compile building))


@dataclass
class FrameJob:
    """One frame of one stream for :meth:`StyleWorker.submit_frame`. ``decode`` (worker thread)
    turns ``frame`` into HxWx3 uint8 RGB (None: it already is); ``finish(Stylized)`` (worker
    thread) makes the job's result (e.g. re-encodes it; None: the Stylized itself)."""

    frame: Any
    style: str
    blender: Any = None
    mix: dict[str, float] | None = None
    preserve_color: float | None = None
    decode: Callable[[Any], np.ndarray] | None = None
    finish: Callable[[Any], Any] | None = None
    future: cf.Future = field(default_factory=cf.Future)
    # set once the worker has run this frame's network (or failed it): on the CPU the rest
    # (temporal step, upsampling, finish) runs on the engine's finisher thread, and the next
    # frame may be submitted (StyleWorker.overlaps)
    front_done: cf.Future = field(default_factory=cf.Future)

    def batch_key(self, arr: np.ndarray) -> Hashable:
        mix = None if self.mix is None else tuple(sorted(self.mix.items()))
        return (self.style, mix, self.preserve_color, arr.shape)


def _with_colors(fn: Stylizer, x: Tensor, amount: float) -> Tensor:
    """``fn(x)`` with colour preservation ``amount`` instead of the style's own (models.nets.color)."""
    fn = getattr(fn, "model", fn)  # a BackgroundCompiled wrapper: its module (the colours change per call)
    raw = fn.inner if isinstance(fn, ColorPreserving) else fn
    y = raw(x)
    return preserve_color(y, x, amount=amount) if amount > 0 else y


_FRAME = object()  # queue marker of a FrameJob


def _set_once(fut: cf.Future) -> None:
    if not fut.done():
        fut.set_result(None)


def _deliver(done: cf.Future, jobs: list[FrameJob]) -> None:
    """Results of one engine call to its jobs (each job's ``finish`` runs here: on the CPU the
    engine's finisher thread, else the worker's)."""
    exc = done.exception()
    for i, j in enumerate(jobs):
        if j.future.done():  # cancelled meanwhile (the worker is closing)
            continue
        try:
            if exc is not None:
                raise exc
            res = done.result()[i]
            j.future.set_result(res if j.finish is None else j.finish(res))
        except BaseException as e:  # noqa: BLE001
            if not j.future.done():  # set_result raised because it was cancelled just now
                j.future.set_exception(e)


class StyleWorker:
    def __init__(self, factory: StylizerFactory, *, device: str = "cpu", max_side: int = 1280,
                 render: RenderScale | None = None, max_batch: int = 16, backend: str = "eager",
                 compile_build: Callable[..., Any] | None = None, cache_dir: str | None = None) -> None:
        """``backend="compile"``: each single-style network is wrapped in
        :class:`models.backends.background.BackgroundCompiled` (built in the background per size
        bucket while eager serves; ``compile_build`` injects the builder, ``cache_dir`` keeps
        the compile caches across restarts). Multi-style networks stay eager (live blend)."""
        if backend not in ("eager", "compile"):
            raise ValueError(f"backend: expected 'eager' or 'compile', got {backend!r}")
        self.backend = backend
        self._compile_build = compile_build
        self._cache_dir = cache_dir
        self._factory = factory
        self.device = torch.device(device)
        self.dtype = default_dtype(self.device)
        self.max_side = max_side
        self.max_batch = max_batch
        self.engine = FrameEngine(device=self.device, dtype=self.dtype, render=render,
                                  fit=Fit(max_side=max_side, even=True))
        self.batches: deque[int] = deque(maxlen=256)  # sizes of the recent forward passes (for /stats)
        self._cache: dict[str, Stylizer] = {}  # touched only by the worker thread
        self._q: queue.Queue[tuple[Callable[..., Any], tuple, cf.Future] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="stylecast-worker", daemon=True)
        self._closed = False
        self._thread.start()

    # -- public API -------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        """Run ``fn(*args)`` on the worker thread."""
        fut: cf.Future = cf.Future()
        if self._closed:
            fut.set_exception(RuntimeError("StyleWorker is closed"))
            return fut
        self._q.put((fn, args, fut))
        return fut

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.wrap_future(self.submit(fn, *args))

    def submit_frame(self, job: FrameJob) -> cf.Future:
        """Queue one stream's frame; waiting frame jobs that match are batched (module doc)."""
        if self._closed:
            job.future.set_exception(RuntimeError("StyleWorker is closed"))
            return job.future
        self._q.put((_FRAME, (job,), job.future))
        return job.future

    async def stylize(self, frame: np.ndarray, *, style: str, blender: Any = None,
                      mix: dict[str, float] | None = None, preserve_color: float | None = None) -> Stylized:
        return await self.run(self.stylize_sync, frame, style, blender, mix, preserve_color)

    def stylizer(self, style: str) -> Stylizer:
        """Loaded (cached) stylizer; call on the worker thread only."""
        fn = self._cache.get(style)
        if fn is None:
            fn = self._factory(style)
            if self.backend == "compile" and isinstance(fn, torch.nn.Module) and not hasattr(fn, "set_mix"):
                from models.backends.background import BackgroundCompiled

                fn = BackgroundCompiled(fn, device=self.device, build=self._compile_build, cache_dir=self._cache_dir)
            self._cache[style] = fn
        return fn

    def stylize_sync(self, frame: np.ndarray, style: str, blender: Any = None,
                     mix: dict[str, float] | None = None, preserve_color: float | None = None) -> Stylized:
        """``mix``: blend of the style's multi-style network (None: the style itself). The
        cached stylizer's mix is set in place before each frame (streams share it), which costs
        a tiny copy only when it changes: the network is never reloaded. ``preserve_color``
        (0..1) overrides the style's own colour setting for this frame (None: the style's)."""
        return self.stylize_many([frame], [blender], style, mix, preserve_color)[0]

    def stylize_many(self, frames: list[np.ndarray], blenders: list[Any], style: str,
                     mix: dict[str, float] | None = None, preserve_color: float | None = None) -> list[Stylized]:
        """Frames of several streams (one blender each, or None) with one style setting, in one
        engine call: frames of equal size share a forward pass. Worker thread only."""
        done: cf.Future = cf.Future()
        self._submit_many(frames, blenders, style, mix, preserve_color, done)
        return done.result()

    @property
    def overlaps(self) -> bool:
        """Whether frame jobs finish off the worker thread (CPU: the engine's finisher), so a
        stream gains from submitting its next frame once ``FrameJob.front_done`` is set."""
        return self.device.type == "cpu"

    def _submit_many(self, frames: list[np.ndarray], blenders: list[Any], style: str,
                     mix: dict[str, float] | None, preserve_color: float | None, done: cf.Future) -> None:
        """Run the network for ``frames`` here; ``done`` gets the list of :class:`Stylized` when
        the engine has finished them (CPU: on its finisher thread) or the error. Front-half
        errors raise here."""
        t0 = time.perf_counter()
        with torch.inference_mode():
            fn = self.stylizer(style)
            applied = None
            set_mix = getattr(fn, "set_mix", None)
            if set_mix is not None:
                set_mix(mix)
                applied = fn.mix_dict()  # type: ignore[attr-defined]
            elif mix is not None:
                raise ValueError(f"style {style!r}: expected a multi-style network to apply mix {mix}, got a single style")
            run = fn if preserve_color is None else (lambda x: _with_colors(fn, x, preserve_color))
            try:
                pending = self.engine.submit(dict(enumerate(frames)), run, dict(enumerate(blenders)))
            except StylizerOutputError as exc:
                raise ValueError(f"stylizer {style!r}: {exc}") from None
        self.batches.append(len(frames))
        backend = self._backend_note(fn, frames)

        def complete(p: Any) -> None:
            try:
                outs = p.result()
            except BaseException as exc:  # noqa: BLE001 - delivered to the waiting peers
                done.set_exception(exc)
                return
            dt = time.perf_counter() - t0
            done.set_result([Stylized(frame=outs[i], style=style, compute_s=dt, mix=applied, backend=backend)
                             for i in range(len(frames))])

        self.engine.when_done(pending, complete)

    def _backend_note(self, fn: Stylizer, frames: list[np.ndarray]) -> str:
        backend_of = getattr(fn, "backend_of", None)
        if backend_of is None:
            return "eager"
        h, w = self.engine.fit.size(*frames[0].shape[:2])
        nh, nw = self.engine.render.size(h, w)
        return backend_of((len(frames), 3, nh, nw))

    def render_note(self) -> str:
        r = self.engine.render
        if r.identity:
            return "full size"
        parts = ([f"scale {r.scale:g}"] if r.scale < 1.0 else []) + ([f"longer side <= {r.max_side}"] if r.max_side else [])
        return "network at " + ", ".join(parts) + ", guided upsampling"

    def batch_mean(self) -> float:
        b = list(self.batches)
        return round(sum(b) / len(b), 2) if b else 0.0

    def _run_frames(self, jobs: list[FrameJob]) -> None:
        """Decode each job, group by batch key, run each group as one engine call, finish each."""
        groups: dict[Hashable, list[tuple[FrameJob, np.ndarray]]] = {}
        for job in jobs:
            try:
                arr = job.frame if job.decode is None else job.decode(job.frame)
                groups.setdefault(job.batch_key(arr), []).append((job, arr))
            except BaseException as exc:  # noqa: BLE001 - delivered to the awaiting peer
                job.future.set_exception(exc)
                _set_once(job.front_done)
        for members in groups.values():
            for k in range(0, len(members), self.max_batch):
                part = members[k:k + self.max_batch]
                first = part[0][0]
                done: cf.Future = cf.Future()
                done.add_done_callback(lambda d, part=part: _deliver(d, [j for j, _ in part]))
                try:
                    self._submit_many([a for _, a in part], [j.blender for j, _ in part], first.style,
                                      first.mix, first.preserve_color, done)
                except BaseException as exc:  # noqa: BLE001
                    done.set_exception(exc)
                finally:
                    for j, _ in part:
                        _set_once(j.front_done)

    def to_tensor(self, frame: np.ndarray) -> Tensor:
        """HxWx3 uint8 -> (1,3,h,w) in [0,1], downscaled to ``max_side`` and cropped to even size."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 frame, got {frame.shape} {frame.dtype}")
        x = torch.from_numpy(np.ascontiguousarray(frame)).to(self.device).permute(2, 0, 1)[None]
        x = x.to(self.dtype) / 255.0
        h, w = x.shape[-2:]
        s = min(1.0, self.max_side / max(h, w))
        nh, nw = max(2, int(h * s) // 2 * 2), max(2, int(w * s) // 2 * 2)
        if s < 1.0:
            x = F.interpolate(x, size=(nh, nw), mode="area")
        return x[..., :nh, :nw]

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread (pending jobs are cancelled) and free model memory."""
        if self._closed:
            return
        self._closed = True
        while True:  # cancel what has not started; the running job finishes
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[2].cancel()
        self._q.put(None)
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- thread -------------------------------------------------------------------------------
    def _loop(self) -> None:
        pending: deque = deque()
        while True:
            item = pending.popleft() if pending else self._q.get()
            if item is None:
                break
            fn, args, fut = item
            if fn is _FRAME:
                # Batch: every frame job waiting right now joins this one (other jobs keep
                # their order and run after it).
                jobs = [args[0]] if fut.set_running_or_notify_cancel() else []
                stop = False
                while True:
                    try:
                        nxt = self._q.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    if nxt[0] is _FRAME:
                        if nxt[2].set_running_or_notify_cancel():
                            jobs.append(nxt[1][0])
                    else:
                        pending.append(nxt)
                if jobs:
                    self._run_frames(jobs)
                if stop:
                    pending.append(None)
                continue
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - delivered to the awaiting peer
                fut.set_exception(exc)
        for fn in self._cache.values():
            close = getattr(fn, "close", None)  # a BackgroundCompiled: stop its build thread
            if close is not None:
                close()
        self._cache.clear()
        self.engine.close()  # the finisher: batches in flight complete first
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
