"""The one compute thread shared by every peer.

All model work (loading, stylization, temporal blending) runs here, never on the asyncio event
loop: a 30 ms forward pass on the loop would stall every peer's RTP/DTLS timers. One thread (not
a pool) because a GPU serializes kernels anyway and a single owner keeps the stylizer cache and
per-stream blender state free of locks. Callers get a ``concurrent.futures.Future``; async code
awaits it through :meth:`StyleWorker.run`.

Back-pressure is the caller's job: each stream keeps at most one job in flight (latest frame
wins, see :mod:`stream.server.tracks`), so this queue never holds more than one job per stream.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from models.nets.color import ColorPreserving, preserve_color
from models.contracts import default_dtype
from models.temporal.blender import prefetch_flow_input

Stylizer = Callable[[Tensor], Tensor]
StylizerFactory = Callable[[str], Stylizer]


@dataclass(frozen=True)
class Stylized:
    frame: np.ndarray  # HxWx3 uint8 RGB, even H and W (yuv420p encoders need them)
    style: str
    compute_s: float
    mix: dict[str, float] | None = None  # multi-style: the blend actually applied (non-zero weights)


def _with_colors(fn: Stylizer, x: Tensor, amount: float) -> Tensor:
    """``fn(x)`` with colour preservation ``amount`` instead of the style's own (models.nets.color)."""
    raw = fn.inner if isinstance(fn, ColorPreserving) else fn
    y = raw(x)
    return preserve_color(y, x, amount=amount) if amount > 0 else y


class StyleWorker:
    def __init__(self, factory: StylizerFactory, *, device: str = "cpu", max_side: int = 1280) -> None:
        self._factory = factory
        self.device = torch.device(device)
        self.dtype = default_dtype(self.device)
        self.max_side = max_side
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

    async def stylize(self, frame: np.ndarray, *, style: str, blender: Any = None,
                      mix: dict[str, float] | None = None, preserve_color: float | None = None) -> Stylized:
        return await self.run(self.stylize_sync, frame, style, blender, mix, preserve_color)

    def stylizer(self, style: str) -> Stylizer:
        """Loaded (cached) stylizer; call on the worker thread only."""
        fn = self._cache.get(style)
        if fn is None:
            fn = self._cache[style] = self._factory(style)
        return fn

    def stylize_sync(self, frame: np.ndarray, style: str, blender: Any = None,
                     mix: dict[str, float] | None = None, preserve_color: float | None = None) -> Stylized:
        """``mix``: blend of the style's multi-style network (None: the style itself). The
        cached stylizer's mix is set in place before each frame (streams share it), which costs
        a tiny copy only when it changes: the network is never reloaded. ``preserve_color``
        (0..1) overrides the style's own colour setting for this frame (None: the style's)."""
        t0 = time.perf_counter()
        with torch.inference_mode():
            x = self.to_tensor(frame)
            fn = self.stylizer(style)
            applied = None
            set_mix = getattr(fn, "set_mix", None)
            if set_mix is not None:
                set_mix(mix)
                applied = fn.mix_dict()  # type: ignore[attr-defined]
            elif mix is not None:
                raise ValueError(f"style {style!r}: expected a multi-style network to apply mix {mix}, got a single style")
            prefetch_flow_input(blender, x)  # queued ahead of the network (models.temporal.blender)
            y = fn(x) if preserve_color is None else _with_colors(fn, x, preserve_color)
            if y.shape != x.shape:
                raise ValueError(f"stylizer {style!r}: expected output shape {tuple(x.shape)}, got {tuple(y.shape)}")
            if blender is not None:
                y = blender(x, y)
            out = (y[0].clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
        return Stylized(frame=np.ascontiguousarray(out), style=style, compute_s=time.perf_counter() - t0, mix=applied)

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
        while True:
            item = self._q.get()
            if item is None:
                break
            fn, args, fut = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - delivered to the awaiting peer
                fut.set_exception(exc)
        self._cache.clear()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
