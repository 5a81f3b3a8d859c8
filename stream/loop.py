"""The real-time loop: capture thread -> one-slot mailbox -> model worker -> sink.

Design (why): a queue between a 30 fps camera and a 10 fps model grows without bound and the
output lags further and further behind. Here a capture thread writes into a *one-slot*
mailbox: when the worker is busy, a newer frame replaces the waiting one ("latest frame
wins") and the replaced frame is counted as dropped. So the output is never older than the
frame in flight plus one capture interval. The worker (the thread calling :meth:`LiveLoop.run`)
owns the model, the temporal state and, on CUDA, its own CUDA stream; OpenCV windows also
need that single thread.

For non-device sources (file, sample, pattern) without ``realtime`` the mailbox blocks
instead of replacing: every frame is processed in order, deterministically.
"""
from __future__ import annotations

import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from models.engine import FrameEngine
from models.errors import UserError
from models.guided import RenderScale
from models.io import fit_size, resize_frame
from stream.sinks import Sink
from stream.sources import Source, SourceLost
from stream.stats import FrameTiming, LiveStats


@dataclass(frozen=True)
class Captured:
    index: int
    t_capture: float
    image: object  # HxWx3 uint8 RGB numpy array


class FrameSlot:
    """One-slot mailbox. ``drop=True``: put replaces a waiting item (counted in ``dropped``);
    ``drop=False``: put blocks until the slot is free. ``close`` wakes everyone up."""

    def __init__(self, *, drop: bool) -> None:
        self.drop = drop
        self.dropped = 0
        self._item: Captured | None = None
        self._closed = False
        self._cv = threading.Condition()

    def put(self, item: Captured) -> bool:
        """False when the slot was closed (the consumer is gone)."""
        with self._cv:
            if not self.drop:
                while self._item is not None and not self._closed:
                    self._cv.wait()
            if self._closed:
                return False
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cv.notify_all()
            return True

    def get(self, timeout: float) -> Captured | None:
        """The waiting item; ``None`` when closed and empty. Raises ``TimeoutError``."""
        with self._cv:
            if not self._cv.wait_for(lambda: self._item is not None or self._closed, timeout=timeout):
                raise TimeoutError
            item, self._item = self._item, None
            self._cv.notify_all()
            return item

    def poll(self) -> Captured | None:
        """The waiting item, or None at once when there is none."""
        with self._cv:
            item, self._item = self._item, None
            if item is not None:
                self._cv.notify_all()
            return item

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify_all()


@dataclass(frozen=True)
class LoopConfig:
    realtime: bool = False  # pace non-device sources at their fps and drop like a camera
    max_frames: int | None = None  # output frames; None = until the source ends
    stall_timeout_s: float = 5.0  # no frame for this long from a device source -> stop with a message
    max_side: int | None = None  # downscale input so the longer side is at most this
    join_timeout_s: float = 5.0
    # submit the next waiting frame before collecting the one in flight (LiveLoop._work says why);
    # a key press then lands on the frame after next at worst
    overlap: bool = True


class LiveLoop:
    """Runs ``source -> stylizer (-> temporal) -> sink`` until the source ends, ``max_frames``,
    the sink asks to stop, or :meth:`stop`. ``stylizer`` maps (1,3,H,W) -> (1,3,H,W) RGB [0,1];
    ``temporal`` (e.g. :class:`models.temporal.blender.TemporalBlender`) gets ``(frame_in, stylized)`` at
    the network's size. Each frame goes through one :class:`models.engine.FrameEngine` (upload,
    ``render`` scale, stylize, temporal, guided upsampling, download), the code every app runs.
    ``on_frame`` is called after each output with the stats (progress display)."""

    def __init__(self, source: Source, sink: Sink, stylizer: Callable[[Tensor], Tensor], *,
                 temporal: Callable[[Tensor, Tensor], Tensor] | None = None, config: LoopConfig | None = None,
                 device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                 render: RenderScale | None = None, flow: object = None,
                 on_frame: Callable[[LiveStats], None] | None = None) -> None:
        self.source, self.sink, self.stylizer, self.temporal = source, sink, stylizer, temporal
        self.config = config or LoopConfig()
        self.device = torch.device(device)
        self.dtype = dtype
        self.engine = FrameEngine(device=self.device, dtype=dtype, render=render, flow=flow)  # type: ignore[arg-type]
        self.last_size: tuple[int, int] | None = None  # (H, W) of the last output frame
        self.on_frame = on_frame
        self.stats = LiveStats()
        paced = self.config.realtime or source.is_device
        self._slot = FrameSlot(drop=paced)
        self._pace = self.config.realtime and not source.is_device
        self._stop = threading.Event()
        self._capture_error: BaseException | None = None
        self._thread: threading.Thread | None = None

    def stop(self) -> None:
        self._stop.set()
        self._slot.close()

    # -- capture thread ----------------------------------------------------------------------
    def _capture(self) -> None:
        try:
            period = 1.0 / self.source.fps if self.source.fps > 0 else 0.0
            t0 = time.perf_counter()
            i = 0
            limit = None if self._slot.drop else self.config.max_frames  # deterministic: read exactly N
            while not self._stop.is_set() and (limit is None or i < limit):
                if self._pace:
                    delay = t0 + i * period - time.perf_counter()
                    if delay > 0 and self._stop.wait(delay):
                        break
                img = self.source.read()
                if img is None:
                    break
                if self.config.max_side:
                    img = _fit(img, self.config.max_side)
                if not self._slot.put(Captured(i, time.perf_counter(), img)):
                    break
                i += 1
                self.stats.captured = i
        except BaseException as exc:  # noqa: BLE001 - reported by the worker
            self._capture_error = exc
        finally:
            self._slot.close()

    # -- worker ------------------------------------------------------------------------------
    def run(self) -> LiveStats:
        """Process frames in the calling thread; returns the stats. Raises :class:`SourceLost`
        (a UserError) when a device stops delivering, after shutting everything down."""
        self._thread = threading.Thread(target=self._capture, name="stylecast-capture", daemon=True)
        self._thread.start()
        ok = False
        lost: SourceLost | None = None
        cuda_stream = torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
        try:
            with torch.inference_mode(), (torch.cuda.stream(cuda_stream) if cuda_stream is not None else nullcontext()):
                self._work()
            ok = True
        except SourceLost as exc:  # a stalled camera: what was recorded so far is kept
            lost, ok = exc, True
        finally:
            self.stop()
            self._thread.join(self.config.join_timeout_s)
            self.stats.dropped = self._slot.dropped
            failed = self._capture_error is not None and not isinstance(self._capture_error, SourceLost)
            try:
                self.sink.close(ok=ok and not failed)
            finally:
                self.engine.close()
                # Closing also unblocks a driver stuck in read(); only then wait for it again.
                self.source.close()
                if self._thread.is_alive():
                    self._thread.join(self.config.join_timeout_s)
        if lost is not None:
            raise lost
        if self._thread.is_alive():
            raise UserError(f"{self.source.name} did not stop within {self.config.join_timeout_s:g} s "
                            f"(driver blocked in read); output was closed")
        if self._capture_error is not None:
            if isinstance(self._capture_error, UserError):
                raise self._capture_error
            raise RuntimeError(f"capture from {self.source.name} failed: {self._capture_error}") from self._capture_error
        return self.stats

    def _work(self) -> None:
        """Frame t+1 is submitted to the engine before frame t is collected when it is already
        waiting: on the CPU its network then runs while t is blended and upsampled on the
        engine's finisher thread (models.engine), on CUDA the host prepares it while the GPU works.
        When no frame is waiting, t is collected at once, so a slow camera adds no latency."""
        limit = self.config.max_frames
        inflight: tuple[Captured, float, float, object] | None = None  # (item, t_wait, t0, PendingBatch)
        submitted = 0
        try:
            while True:
                want_more = limit is None or submitted < limit
                item = None
                if want_more and inflight is not None and self.config.overlap:
                    item = self._slot.poll()  # a frame already waiting: overlap it with the one in flight
                if item is None and inflight is not None:
                    keep, inflight = self._emit(*inflight), None
                    if not keep:
                        return
                    continue
                if not want_more:
                    return
                t_wait = time.perf_counter()
                if item is None:
                    try:
                        item = self._slot.get(timeout=self.config.stall_timeout_s)
                    except TimeoutError:
                        if self.source.is_device:
                            raise SourceLost(f"{self.source.name} delivered no frame for {self.config.stall_timeout_s:.0f} s "
                                             f"(unplugged or stalled)") from None
                        continue  # a slow file/decoder is not an error
                    if item is None:
                        return
                t0 = time.perf_counter()
                image = item.image if isinstance(item.image, np.ndarray) else np.asarray(item.image)
                temporal = {0: self.temporal} if self.temporal is not None else None
                try:
                    pending = self.engine.submit({0: np.ascontiguousarray(image)}, self.stylizer, temporal)
                except BaseException:
                    if inflight is not None:  # the frame before the failing one still goes out
                        done, inflight = inflight, None
                        self._emit(*done)
                    raise
                submitted += 1
                if inflight is not None:
                    keep, inflight = self._emit(*inflight), None
                    if not keep:
                        return
                inflight = (item, t_wait, t0, pending)
        finally:
            if inflight is not None:  # stopped with a frame in flight: let its back half finish
                try:
                    inflight[3].result()
                except Exception:  # noqa: BLE001 - the loop is already ending; its own error wins
                    pass

    def _emit(self, item: Captured, t_wait: float, t0: float, pending) -> bool:  # type: ignore[no-untyped-def]
        """Collect a submitted frame, write it to the sink, record its stats; False: stop."""
        out = self.engine.collect(pending)[0]
        t4 = time.perf_counter()
        self.last_size = (int(out.shape[0]), int(out.shape[1]))
        keep = self.sink.write(out)
        t5 = time.perf_counter()
        self.stats.scene_cuts = getattr(self.temporal, "scene_cuts", 0)
        self.stats.dropped = self._slot.dropped
        ms = {"wait": (t0 - t_wait) * 1000, **pending.timings, "sink": (t5 - t4) * 1000}
        self.stats.record(FrameTiming(item.index, item.t_capture, t5, ms))
        if self.on_frame is not None:
            self.on_frame(self.stats)
        return keep


def _fit(img: np.ndarray, max_side: int) -> np.ndarray:
    return resize_frame(img, fit_size(img.shape[0], img.shape[1], max_side))
