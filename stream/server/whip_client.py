"""Minimal aiortc WHIP publisher and WHEP player (tests, the benchmark, scripts; OBS or any
WHIP/WHEP client does the same against a running server)."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from stream.server.client import read_latest


class HttpError(ConnectionError):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}: {text.strip()}")
        self.status, self.text = status, text


@dataclass(eq=False)
class Session:
    pc: RTCPeerConnection
    http: aiohttp.ClientSession
    location: str
    headers: dict
    frames: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=8))
    received: int = 0
    _reader: asyncio.Task | None = None

    async def next_frame(self, timeout: float = 10.0):
        return await asyncio.wait_for(self.frames.get(), timeout)

    async def close(self, delete: bool = True) -> int | None:
        """DELETE the resource (returns its status), hang up."""
        status = None
        if delete:
            async with self.http.delete(self.location, headers=self.headers) as r:
                status = r.status
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.pc.close()
        await self.http.close()
        return status


async def _exchange(url: str, pc: RTCPeerConnection, headers: dict) -> Session:
    http = aiohttp.ClientSession()
    try:
        await pc.setLocalDescription(await pc.createOffer())
        async with http.post(url, data=pc.localDescription.sdp,
                             headers={**headers, "Content-Type": "application/sdp"}) as r:
            text = await r.text()
            if r.status != 201:
                raise HttpError(r.status, text)
            location = str(r.url.join(aiohttp.client.URL(r.headers["Location"])))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=text, type="answer"))
    except BaseException:
        await pc.close()
        await http.close()
        raise
    return Session(pc=pc, http=http, location=location, headers=headers)


async def whip_publish(url: str, track: MediaStreamTrack, *, token: str | None = None,
                       audio: MediaStreamTrack | None = None) -> Session:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if audio is not None:
        pc.addTransceiver(audio, direction="sendonly")
    pc.addTransceiver(track, direction="sendonly")
    return await _exchange(url, pc, {"Authorization": f"Bearer {token}"} if token else {})


async def whep_play(url: str) -> Session:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    got: asyncio.Future = asyncio.get_running_loop().create_future()
    pc.on("track", lambda t: got.done() or got.set_result(t))
    s = await _exchange(url, pc, {})

    def count() -> None:
        s.received += 1

    s._reader = read_latest(got, s.frames, on_frame=count)
    return s
