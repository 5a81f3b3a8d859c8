"""Broadcast: stylize one source once, fan the result out to every viewer (aiortc MediaRelay).

The source is read on a thread (files decode, webcams block), paced at the source's fps, stylized
by the shared worker with the broadcast's own temporal state, and published to a
:class:`BroadcastTrack`. Each viewer gets an unbuffered relay proxy: a viewer whose encoder falls
behind skips to the newest frame instead of lagging (latest frame wins per viewer).
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import logging
import time
from fractions import Fraction

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from stream.server.recorder import Recorder
from stream.server.sources import FrameSource
from stream.server.tracks import BroadcastTrack, StreamState, ViewerTrack, frame_job
from stream.server.worker import StyleWorker

VIDEO_TIME_BASE = Fraction(1, 90000)  # RTP video clock
log = logging.getLogger(__name__)


class Broadcaster:
    def __init__(self, source: FrameSource, worker: StyleWorker, state: StreamState,
                 recorder: Recorder | None = None) -> None:
        self.source, self.worker, self.state, self.recorder = source, worker, state, recorder
        self.track = BroadcastTrack()
        self.relay = MediaRelay()
        self.viewers = 0
        self.error: str | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        # one dedicated reader thread: sources are not thread-safe, and the default executor is
        # shared with aiortc's encoders
        self._reader = cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylecast-source")

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run_logged())

    async def _run_logged(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a dead broadcast must say why (/stats, log)
            self.error = f"{type(exc).__name__}: {exc}"
            log.error("broadcast stopped: %s", self.error, exc_info=True)
            self.track.stop()

    def subscribe(self) -> MediaStreamTrack:
        self.viewers += 1
        self._wake.set()
        return ViewerTrack(self.relay.subscribe(self.track, buffered=False))

    def unsubscribe(self, proxy: MediaStreamTrack) -> None:
        self.viewers = max(0, self.viewers - 1)
        proxy.stop()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.source.fps
        n = 0
        next_due = time.monotonic()
        while True:
            if self.viewers == 0 and self.recorder is None:
                # nobody watching: spend no compute until someone subscribes
                self._wake.clear()
                await self._wake.wait()
                next_due = time.monotonic()
            frame = await loop.run_in_executor(self._reader, self.source.read)
            if frame is None:
                break
            t_in = time.monotonic()
            if n == 0:
                next_due = t_in  # the first read may be slow (file open, sample rendering)
            st = self.state
            pts = int(n * period * 90000)
            res, vf = await asyncio.wrap_future(self.worker.submit_frame(frame_job(frame, st, pts, VIDEO_TIME_BASE)))
            st.applied_mix = res.mix
            self.track.slot.put(vf)
            if self.recorder is not None:
                self.recorder.write(res.frame)
            h, w = res.frame.shape[:2]
            st.stats.record(time.monotonic() - t_in, width=w, height=h, backend=res.backend)
            n += 1
            next_due += period
            delay = next_due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                # compute slower than the source: skip source frames to stay live (counted as drops)
                behind = 0 if getattr(self.source, "live", False) else int(-delay / period)
                if behind:
                    st.stats.drop(behind)
                    for _ in range(behind):
                        if await loop.run_in_executor(self._reader, self.source.read) is None:
                            break
                next_due = time.monotonic()
        self.track.stop()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - closing anyway
                pass
        self.track.stop()
        await asyncio.get_running_loop().run_in_executor(self._reader, self.source.close)
        self._reader.shutdown(wait=True)
        if self.recorder is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.recorder.close)
