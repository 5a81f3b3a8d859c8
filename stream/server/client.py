"""A minimal Python WebRTC client for this server (used by tests, the benchmark, and scripts).

``await connect(url, mode="mirror", track=...)`` performs the /offer exchange and returns a
:class:`ClientPeer` whose ``frames`` queue receives decoded ``av.VideoFrame`` s with the
client-side receive time. Not used by the server itself.
"""
from __future__ import annotations

import asyncio
import fractions
import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import aiohttp
import av
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack


class ArrayTrack(VideoStreamTrack):
    """Sends ``frames`` (HxWx3 uint8 RGB) in a loop at ``fps`` (real-time paced)."""

    def __init__(self, frames: list[np.ndarray], fps: float = 30.0) -> None:
        super().__init__()
        self._frames, self._fps, self._i = frames, fps, 0
        self._t0: float | None = None
        self.sent_at: dict[int, float] = {}  # pts -> monotonic send time (for latency)

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._t0 is None:
            self._t0 = time.monotonic()
        due = self._t0 + self._i / self._fps
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        vf = av.VideoFrame.from_ndarray(self._frames[self._i % len(self._frames)], format="rgb24")
        vf.pts, vf.time_base = int(self._i * 90000 / self._fps), fractions.Fraction(1, 90000)
        self.sent_at[vf.pts] = time.monotonic()
        self._i += 1
        return vf


@dataclass(eq=False)
class ClientPeer:
    pc: RTCPeerConnection
    session: aiohttp.ClientSession
    base_url: str
    peer_id: str = ""
    settings: dict = field(default_factory=dict)
    frames: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    channel: Any = None
    messages: asyncio.Queue = field(default_factory=asyncio.Queue)
    _reader: asyncio.Task | None = None

    async def next_frame(self, timeout: float = 10.0) -> tuple[av.VideoFrame, float]:
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def send(self, msg: dict, timeout: float = 10.0) -> dict:
        """Send settings over the data channel and wait for the server's reply."""
        await asyncio.wait_for(_opened(self.channel), timeout)
        self.channel.send(json.dumps(msg))
        return await asyncio.wait_for(self.messages.get(), timeout)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.pc.close()
        await self.session.close()


async def _opened(channel: Any) -> None:
    while channel.readyState != "open":
        ev = asyncio.Event()
        channel.once("open", ev.set)
        if channel.readyState == "open":
            break
        await ev.wait()


async def connect(base_url: str, *, mode: str = "mirror", track: MediaStreamTrack | None = None,
                  style: str | None = None, extra: dict | None = None) -> ClientPeer:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    peer = ClientPeer(pc=pc, session=aiohttp.ClientSession(), base_url=base_url)
    got_track: asyncio.Future = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(t: MediaStreamTrack) -> None:
        if t.kind == "video" and not got_track.done():
            got_track.set_result(t)

    if mode == "mirror":
        if track is None:
            raise ValueError("mirror mode: expected a video track to send, got None")
        pc.addTrack(track)
        peer.channel = pc.createDataChannel("control")
        peer.channel.on("message", lambda m: peer.messages.put_nowait(json.loads(m)))
    else:
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    body = {"sdp": pc.localDescription.sdp, "type": "offer", "mode": mode, **(extra or {})}
    if style is not None:
        body["style"] = style
    try:
        async with peer.session.post(f"{base_url}/offer", json=body) as resp:
            data = await resp.json()
            if resp.status != 200:
                raise ConnectionError(f"/offer -> {resp.status}: {data.get('error')}")
        peer.peer_id, peer.settings = data["peer_id"], data.get("settings", {})
        await pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type=data["type"]))
    except BaseException:
        await pc.close()
        await peer.session.close()
        raise

    peer._reader = read_latest(got_track, peer.frames)
    return peer


def read_latest(got_track: "asyncio.Future[MediaStreamTrack]", frames: asyncio.Queue,
                on_frame: Callable[[], None] = lambda: None) -> asyncio.Task:
    """Read the track ``got_track`` resolves to into ``frames`` as ``(frame, arrival time)``; when the
    queue is full the oldest frame is dropped (a slow test reader must not stall the peer)."""
    async def read() -> None:
        remote = await got_track
        try:
            while True:
                f = await remote.recv()
                on_frame()
                if frames.full():
                    frames.get_nowait()
                frames.put_nowait((f, time.monotonic()))
        except MediaStreamError:
            pass

    return asyncio.ensure_future(read())
