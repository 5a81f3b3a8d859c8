"""aiortc tracks: latest-frame-wins slots, per-stream settings, the mirror track.

Latest frame wins: a reader task drains the incoming track as fast as frames arrive and keeps only
the newest one in a :class:`LatestSlot`; the outgoing track takes whatever is newest when the
previous frame is done. A slow stylizer or encoder therefore drops frames (counted) instead of
queueing them, so latency stays bounded by one frame of compute.
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import time
from typing import Any, Generic, TypeVar

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from stream.server.stats import FrameStats
from stream.server.temporal import make_blender
from stream.server.worker import FrameJob, Stylized, StyleWorker

T = TypeVar("T")
KEEP: Any = object()  # StreamState.update: "leave the mix / colours as they are"


def _per_style(new: Any, current: Any, style: str | None) -> Any:
    """A per-style setting after an update: ``new`` when given; back to None (the style's own)
    when a style is chosen (even the current one); else unchanged."""
    if new is not KEEP:
        return new
    return None if style is not None else current


class LatestSlot(Generic[T]):
    """One-item mailbox: ``put`` overwrites (returns True when it discarded an unread item)."""

    def __init__(self) -> None:
        self._item: T | None = None
        self._has = False
        self._closed = False
        self._event = asyncio.Event()

    def put(self, item: T) -> bool:
        dropped = self._has
        self._item, self._has = item, True
        self._event.set()
        return dropped

    def close(self) -> None:
        self._closed = True
        self._event.set()

    def poll(self) -> T | None:
        """The waiting item, or None at once when there is none."""
        if not self._has:
            return None
        item, self._item, self._has = self._item, None, False
        return item

    async def get(self) -> T:
        while not self._has:
            if self._closed:
                raise MediaStreamError("source ended")
            self._event.clear()
            await self._event.wait()
        item, self._item, self._has = self._item, None, False
        return item  # type: ignore[return-value]


class StreamState:
    """Live settings of one stream (a mirror peer or the broadcast) and its stats.

    Settings are changed on the event loop and read by the worker thread; each change swaps in
    a fresh blender instead of resetting the old one, so a job already running on the worker never
    sees its state change under it.
    """

    def __init__(self, *, style: str, temporal: bool, strength: float, stats_window: int = 300,
                 mix: dict[str, float] | None = None, preserve_color: float | None = None) -> None:
        self.style = style
        self.temporal = temporal
        self.strength = strength
        # Multi-style blend (validated, normalised by stream.server.settings); None = the style itself.
        self.mix = mix
        # Colour preservation (models.nets.color) overriding the style's own; None = the style's setting.
        self.preserve_color = preserve_color
        self.applied_mix: dict[str, float] | None = None  # what the worker last applied
        self.stats = FrameStats(window=stats_window)
        self.blender: Any = make_blender(strength) if temporal else None

    def update(self, *, style: str | None = None, temporal: bool | None = None, strength: float | None = None,
               mix: Any = KEEP, preserve_color: Any = KEEP) -> None:
        """Change settings; ``mix=None`` clears a blend; leaving ``mix`` out keeps it unless a
        style is given (choosing a style, even the current one, starts unblended). The same
        for ``preserve_color``: ``None`` (or choosing a style) goes back to the style's own."""
        if strength is not None and not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0,1], got {strength}")
        if preserve_color not in (KEEP, None) and not 0.0 <= preserve_color <= 1.0:
            raise ValueError(f"preserve_color must be in [0,1] or None, got {preserve_color}")
        new_colors = _per_style(preserve_color, self.preserve_color, style)
        changed = (style not in (None, self.style)) or (temporal not in (None, self.temporal)) or (
            strength not in (None, self.strength)) or new_colors != self.preserve_color
        self.preserve_color = new_colors
        self.mix = _per_style(mix, self.mix, style)  # a chosen style without a mix: unblended
        self.style = self.style if style is None else style
        self.temporal = self.temporal if temporal is None else bool(temporal)
        self.strength = self.strength if strength is None else float(strength)
        if changed:
            # A new style (or new colours) must not be blended with the previous output (ghosting
            # of the old style, colours lagging for ~1/(1-strength) frames), so history starts
            # over. A blend change does not reset it: blends move continuously (a slider), so the
            # previous output is a close neighbour of the new one.
            self.blender = make_blender(self.strength) if self.temporal else None

    def settings(self) -> dict:
        return {"style": self.style, "temporal": self.temporal, "strength": self.strength, "mix": self.mix,
                "preserve_color": self.preserve_color}


def process_frame(worker: StyleWorker, frame: av.VideoFrame | np.ndarray, style: str, blender: Any,
                  pts: int | None = None, time_base: Any = None, mix: dict[str, float] | None = None,
                  preserve_color: float | None = None) -> tuple[Stylized, av.VideoFrame]:
    """Decode, stylize and re-encode to yuv420p on the worker thread (colour conversions are not loop work).

    The output is already yuv420p so aiortc's encoders do not call ``frame.reformat`` themselves.
    """
    if isinstance(frame, np.ndarray):
        arr = frame
    else:
        arr = frame.to_ndarray(format="rgb24")
        pts, time_base = frame.pts, frame.time_base
    res = worker.stylize_sync(arr, style, blender, mix=mix, preserve_color=preserve_color)
    return res, to_video_frame(res.frame, pts, time_base)


def frame_job(frame: av.VideoFrame | np.ndarray, st: "StreamState", pts: int | None = None,
              time_base: Any = None) -> FrameJob:
    """A :class:`FrameJob` for the worker doing what :func:`process_frame` does (decode on the worker,
    stylize batched with other streams' frames, re-encode to yuv420p); result ``(Stylized, VideoFrame)``."""
    if not isinstance(frame, np.ndarray):
        pts, time_base = frame.pts, frame.time_base

    def decode(f: Any) -> np.ndarray:
        return f if isinstance(f, np.ndarray) else f.to_ndarray(format="rgb24")

    def finish(res: Stylized) -> tuple[Stylized, av.VideoFrame]:
        return res, to_video_frame(res.frame, pts, time_base)

    return FrameJob(frame=frame, style=st.style, blender=st.blender, mix=st.mix, preserve_color=st.preserve_color,
                    decode=decode, finish=finish)


def to_video_frame(out: np.ndarray, pts: int | None, time_base: Any) -> av.VideoFrame:
    vf = av.VideoFrame.from_ndarray(out, format="rgb24").reformat(format="yuv420p")
    vf.pts, vf.time_base = pts, time_base
    return vf


def copy_frame(frame: av.VideoFrame) -> av.VideoFrame:
    """A private copy of a yuv420p frame (see :class:`ViewerTrack`)."""
    out = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
    out.pts, out.time_base = frame.pts, frame.time_base
    return out


class MirrorTrack(MediaStreamTrack):
    """Stylized copy of a peer's incoming video track (mirror mode)."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, worker: StyleWorker, state: StreamState) -> None:
        super().__init__()
        self._source = source
        self._worker = worker
        self.state = state
        self._slot: LatestSlot[tuple[av.VideoFrame, float]] = LatestSlot()
        self._ahead: tuple[FrameJob, float, cf.Future] | None = None  # a job submitted before its recv()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                frame = await self._source.recv()
                if self._slot.put((frame, time.monotonic())):
                    self.state.stats.drop()
        except MediaStreamError:
            pass
        finally:
            self._slot.close()

    async def recv(self) -> av.VideoFrame:
        """The stylized frame for aiortc's encoder. Where the worker overlaps frames (the CPU),
        the next frame is submitted as soon as this one's network has run, so its network runs
        while this one is blended, upsampled and encoded (a frame of latency for throughput;
        stream.server.worker)."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._ahead is None:
            self._ahead = self._submit(await self._slot.get())
        job, t_recv, fut = self._ahead
        self._ahead = None
        if self._worker.overlaps:
            await asyncio.wait([asyncio.wrap_future(job.front_done), asyncio.wrap_future(fut)],
                               return_when=asyncio.FIRST_COMPLETED)
            nxt = self._slot.poll()
            if nxt is not None:
                self._ahead = self._submit(nxt)
        st = self.state
        res, out = await asyncio.wrap_future(fut)
        st.applied_mix = res.mix
        h, w = res.frame.shape[:2]
        st.stats.record(time.monotonic() - t_recv, width=w, height=h, backend=res.backend)
        return out

    def _submit(self, item: tuple[av.VideoFrame, float]) -> tuple[FrameJob, float, "cf.Future"]:
        frame, t_recv = item
        job = frame_job(frame, self.state)
        return job, t_recv, self._worker.submit_frame(job)

    def stop(self) -> None:
        super().stop()
        self._reader.cancel()
        self._slot.close()


class BroadcastTrack(MediaStreamTrack):
    """The broadcast output: the newest published frame; fanned out by ``MediaRelay``."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.slot: LatestSlot[av.VideoFrame] = LatestSlot()

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        return await self.slot.get()

    def stop(self) -> None:
        super().stop()
        self.slot.close()


class ViewerTrack(MediaStreamTrack):
    """One broadcast viewer: a MediaRelay proxy whose frames are copied before encoding.

    MediaRelay hands the *same* ``av.VideoFrame`` to every viewer, and aiortc encodes each viewer
    on its own executor thread; its encoders write ``frame.pict_type`` (forced keyframes) and may
    reformat the frame, so sharing one object races between viewers (seen as a hung
    ``frame.reformat`` and viewers missing their keyframe). A copy per viewer, made off the loop,
    costs one memcpy of a yuv420p frame.
    """

    kind = "video"

    def __init__(self, proxy: MediaStreamTrack) -> None:
        super().__init__()
        self._proxy = proxy

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._proxy.recv()
        return await asyncio.get_running_loop().run_in_executor(None, copy_frame, frame)

    def stop(self) -> None:
        super().stop()
        self._proxy.stop()
