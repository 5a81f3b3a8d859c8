"""WHIP ingest (RFC 9725) and WHEP playback: standard one-request WebRTC signaling over HTTP.

  POST   /whip        application/sdp offer, ``Authorization: Bearer TOKEN`` (the broadcast control
                      token) -> 201, ``Location: /whip/ID``, SDP answer. The pushed video becomes
                      the broadcast source (server started with ``--source whip``).
  DELETE /whip/ID     same token; ends the publish (the broadcast waits for the next publisher)
  POST   /whep        application/sdp offer (recvonly video) -> 201, ``Location: /whep/ID``, answer
                      carrying the stylized broadcast (no token, like the page's viewers)
  DELETE /whep/ID     hang up
  PATCH  on either    405 (no trickle ICE / ICE restart: aiortc gathers every candidate first)

Every client mistake is a 4xx with a one-line reason (text/plain) and leaves the running
broadcast untouched: a live publisher is only replaced after it leaves (409 meanwhile).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from stream.server.ice import rtc_configuration
from stream.server.peers import PeersFull
from stream.server.whip_source import WhipSource

log = logging.getLogger(__name__)
SDP = "application/sdp"
# Browser WHIP/WHEP clients hosted elsewhere (web players) need CORS; no cookies are involved
# (the WHIP token travels in the Authorization header), so any origin may call.
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Location, WWW-Authenticate"}
PREFLIGHT = {**CORS, "Access-Control-Allow-Methods": "POST, DELETE, PATCH, OPTIONS",
             "Access-Control-Allow-Headers": "Authorization, Content-Type, If-Match", "Access-Control-Max-Age": "600"}


def _err(status: int, message: str, **headers: str) -> web.Response:
    return web.Response(status=status, text=message + "\n", content_type="text/plain", headers=headers)


def _authorized(request: web.Request, token: str) -> bool:
    return secrets.compare_digest(request.headers.get("Authorization", "").encode(), f"Bearer {token}".encode())


async def _read_offer(request: web.Request, max_bytes: int) -> str | web.Response:
    if request.content_type != SDP:
        return _err(415, f"expected Content-Type: {SDP}, got {request.content_type or 'none'!r}")
    try:
        text = await request.text()
    except web.HTTPRequestEntityTooLarge:
        return _err(413, f"request too large: expected an SDP offer of at most {max_bytes} bytes")
    if not text.lstrip().startswith("v=0"):
        return _err(400, "expected an SDP offer starting with 'v=0'")
    return text


@dataclass(eq=False)
class Publisher:
    pc: RTCPeerConnection
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started: float = field(default_factory=time.monotonic)
    frames: int = 0
    connected: bool = False
    reader: asyncio.Task | None = None
    timer: asyncio.TimerHandle | None = None


class WhipIngest:
    """The one live WHIP publisher feeding a :class:`WhipSource`."""

    def __init__(self, source: WhipSource, token: str, ice_servers: tuple, connect_timeout: float) -> None:
        self.source, self.token, self.ice_servers, self.connect_timeout = source, token, ice_servers, connect_timeout
        self.current: Publisher | None = None
        self.publishes = 0
        self.lock = asyncio.Lock()  # one offer at a time: two racing POSTs must not both become live

    def snapshot(self) -> dict:
        p = self.current
        return {"publishing": p is not None and p.connected, "publisher": None if p is None else p.id,
                "frames": 0 if p is None else p.frames, "publishes": self.publishes,
                "for_s": None if p is None else round(time.monotonic() - p.started, 1)}

    async def offer(self, sdp: str) -> tuple[Publisher, str]:
        """Raises ValueError on an unusable offer (nothing kept)."""
        pub = Publisher(pc=RTCPeerConnection(rtc_configuration(self.ice_servers)))
        got: asyncio.Future = asyncio.get_running_loop().create_future()

        @pub.pc.on("track")
        def on_track(t: MediaStreamTrack) -> None:
            if t.kind == "video" and not got.done():
                got.set_result(t)

        try:
            await pub.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            for t in pub.pc.getTransceivers():
                if t.kind != "video":
                    t.direction = "inactive"  # audio (OBS sends it) would queue unread in aiortc: refuse it
            # the offer's direction seen from here (aiortc keeps it reversed on the transceiver):
            # a publisher's a=sendonly video is our recvonly
            if not any(t.kind == "video" and getattr(t, "_offerDirection", "recvonly") in ("recvonly", "sendrecv")
                       for t in pub.pc.getTransceivers()):
                raise ValueError("expected an offer sending video (a=sendonly or sendrecv), got none")
            await pub.pc.setLocalDescription(await pub.pc.createAnswer())
        except Exception as exc:  # noqa: BLE001 - aiortc raises ValueError/KeyError/... on bad SDP
            await pub.pc.close()
            raise ValueError(f"malformed or unsupported SDP offer: {type(exc).__name__}: {exc}") from None
        self.current = pub
        self.publishes += 1
        self.source.publisher(f"WHIP publisher {pub.id}")

        @pub.pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pub.pc.connectionState == "connected":
                pub.connected = True
            elif pub.pc.connectionState in ("failed", "closed"):
                await self.end(pub)

        def _deadline() -> None:
            if not pub.connected:
                asyncio.ensure_future(self.end(pub))

        pub.timer = asyncio.get_running_loop().call_later(self.connect_timeout, _deadline)
        pub.reader = asyncio.ensure_future(self._read(pub, got))
        return pub, pub.pc.localDescription.sdp

    async def _read(self, pub: Publisher, got: asyncio.Future) -> None:
        track = await got
        try:
            while True:
                frame = await track.recv()
                pub.frames += 1
                self.source.put(frame)  # converted to RGB on the broadcast's reader thread
        except MediaStreamError:
            pass

    async def end(self, pub: Publisher) -> None:
        if self.current is pub:
            self.current = None
            self.source.publisher(None)
        if pub.timer is not None:
            pub.timer.cancel()
        if pub.reader is not None and pub.reader is not asyncio.current_task():
            pub.reader.cancel()
        await pub.pc.close()

    async def close(self) -> None:
        if self.current is not None:
            await self.end(self.current)
        self.source.close()


def add_routes(app: web.Application, key: Any) -> None:
    """WHIP/WHEP routes; ``key`` is the app's ServerContext key."""

    async def whip_post(request: web.Request) -> web.Response:
        ctx = request.app[key]
        if not _authorized(request, ctx.config.token):
            return _err(401, "WHIP: expected header 'Authorization: Bearer <token printed at start>'",
                        **{"WWW-Authenticate": "Bearer"})
        if ctx.whip is None:
            return _err(409, "WHIP ingest is off: start the server with --source whip")
        offer = await _read_offer(request, ctx.config.max_request_bytes)
        if isinstance(offer, web.Response):
            return offer
        async with ctx.whip.lock:
            if ctx.whip.current is not None:
                return _err(409, f"a WHIP publisher is already live ({ctx.whip.current.id}); DELETE its resource first")
            try:
                pub, answer = await ctx.whip.offer(offer)
            except ValueError as exc:
                return _err(400, str(exc))
        return web.Response(status=201, text=answer, content_type=SDP, headers={"Location": f"/whip/{pub.id}"})

    async def whip_delete(request: web.Request) -> web.Response:
        ctx = request.app[key]
        if not _authorized(request, ctx.config.token):
            return _err(401, "WHIP: expected header 'Authorization: Bearer <token printed at start>'",
                        **{"WWW-Authenticate": "Bearer"})
        pub = ctx.whip.current if ctx.whip is not None else None
        if pub is None or pub.id != request.match_info["id"]:
            return _err(404, f"no WHIP session {request.match_info['id']!r}")
        await ctx.whip.end(pub)
        return web.Response(status=200)

    async def whep_post(request: web.Request) -> web.Response:
        ctx = request.app[key]
        if ctx.broadcaster is None:
            return _err(409, "WHEP: no broadcast running: start the server with --source")
        offer = await _read_offer(request, ctx.config.max_request_bytes)
        if isinstance(offer, web.Response):
            return offer
        pc = RTCPeerConnection(rtc_configuration(ctx.config.ice_servers))
        try:
            peer = ctx.peers.admit(pc, "view")
        except PeersFull as exc:
            await pc.close()
            return _err(503, str(exc))
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
            if not any(t.kind == "video" for t in pc.getTransceivers()):
                raise ValueError("expected an offer with a video transceiver (recvonly), got none")
            b = ctx.broadcaster
            proxy = b.subscribe()
            peer.on_close.append(lambda: b.unsubscribe(proxy))
            pc.addTrack(proxy)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:  # noqa: BLE001 - bad SDP of any kind
            await ctx.peers.close(peer)
            return _err(400, f"WHEP: malformed or unsupported SDP offer: {type(exc).__name__}: {exc}")
        return web.Response(status=201, text=pc.localDescription.sdp, content_type=SDP,
                            headers={"Location": f"/whep/{peer.id}"})

    async def whep_delete(request: web.Request) -> web.Response:
        ctx = request.app[key]
        peer = ctx.peers.get(request.match_info["id"])
        if peer is None or peer.mode != "view":
            return _err(404, f"no WHEP session {request.match_info['id']!r}")
        await ctx.peers.close(peer)
        return web.Response(status=200)

    async def no_patch(request: web.Request) -> web.Response:
        return _err(405, "trickle ICE and ICE restarts are not supported: send the complete offer in the POST",
                    Allow="DELETE")

    async def options(request: web.Request) -> web.Response:
        return web.Response(status=204, headers={**PREFLIGHT, "Accept-Post": SDP})

    def cors(handler):
        async def wrapped(request: web.Request) -> web.Response:
            resp = await handler(request)
            resp.headers.update(CORS)
            return resp
        return wrapped

    for kind, post, delete in (("whip", whip_post, whip_delete), ("whep", whep_post, whep_delete)):
        app.router.add_post(f"/{kind}", cors(post))
        app.router.add_route("OPTIONS", f"/{kind}", options)
        app.router.add_delete(f"/{kind}/{{id}}", cors(delete))
        app.router.add_patch(f"/{kind}/{{id}}", cors(no_patch))
        app.router.add_route("OPTIONS", f"/{kind}/{{id}}", options)
