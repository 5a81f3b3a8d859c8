"""A Python viewer of a Janus VideoRoom feed (tests, the benchmark, scripts; the page uses janus.js).

``await subscribe(url, room)`` finds the stylecast publisher, joins as a subscriber, answers
Janus's offer and returns a :class:`JanusViewer` whose ``frames`` queue receives decoded frames
(newest kept) and whose ``received`` counts every frame decoded.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from stream.janus.client import JanusSession
from stream.janus.publisher import DISPLAY, VIDEOROOM


@dataclass(eq=False)
class JanusViewer:
    pc: RTCPeerConnection
    session: JanusSession
    http: aiohttp.ClientSession
    frames: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=8))
    received: int = 0
    first_at: float | None = None
    _reader: asyncio.Task | None = None

    async def next_frame(self, timeout: float = 10.0):
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.pc.close()
        await self.session.destroy()
        await self.http.close()


async def find_feed(session: JanusSession, handle: int, room: int, display: str = DISPLAY) -> int | None:
    ans = await session.message(handle, {"request": "listparticipants", "room": room})
    for p in ans.get("plugindata", {}).get("data", {}).get("participants", []) or []:
        if p.get("publisher") and p.get("display") == display:
            return int(p["id"])
    return None


async def subscribe(url: str, room: int, *, feed: int | None = None, timeout: float = 10.0) -> JanusViewer:
    http = aiohttp.ClientSession()
    session = JanusSession(url, http, timeout=timeout)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    viewer = JanusViewer(pc=pc, session=session, http=http)
    got: asyncio.Future = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(t: MediaStreamTrack) -> None:
        if t.kind == "video" and not got.done():
            got.set_result(t)

    try:
        await session.create()
        handle = await session.attach(VIDEOROOM)
        if feed is None:
            feed = await find_feed(session, handle, room)
            if feed is None:
                raise LookupError(f"no stylecast publisher in Janus room {room}")
        ans = await session.message(handle, {"request": "join", "ptype": "subscriber", "room": room,
                                             "streams": [{"feed": feed}]})
        offer = ans.get("jsep")
        if not offer:
            raise ConnectionError(f"Janus subscriber join: expected an SDP offer, got {ans.get('plugindata')}")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type=offer["type"]))
        await pc.setLocalDescription(await pc.createAnswer())
        await session.message(handle, {"request": "start"},
                              jsep={"type": "answer", "sdp": pc.localDescription.sdp, "trickle": False})
    except BaseException:
        await viewer.close()
        raise

    async def read() -> None:
        remote = await got
        try:
            while True:
                f = await remote.recv()
                viewer.received += 1
                if viewer.first_at is None:
                    viewer.first_at = time.monotonic()
                if viewer.frames.full():
                    viewer.frames.get_nowait()
                viewer.frames.put_nowait(f)
        except MediaStreamError:
            pass

    viewer._reader = asyncio.ensure_future(read())
    return viewer
