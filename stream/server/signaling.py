"""POST /offer: aiortc's example signaling (one HTTP round trip, full ICE gathering, no trickle).

Validation happens before any peer is admitted, so a bad request never leaves a half-built peer:
malformed JSON / SDP -> 400 with the reason, server full -> 503, no broadcast for a viewer -> 409.
"""
from __future__ import annotations

import json

from aiohttp import web
from aiortc import RTCPeerConnection, RTCSessionDescription

from stream.server.context import ServerContext
from stream.server.ice import rtc_configuration
from stream.server.peers import Peer, PeersFull
from stream.server.responses import error, read_json
from stream.server.settings import parse_settings
from stream.server.tracks import MirrorTrack, StreamState

MODES = ("mirror", "view")


def new_peer_connection(ice_servers: tuple = ()) -> RTCPeerConnection:
    # Only the --ice-server list: aiortc's default STUN server (stun.l.google.com) is unreachable
    # offline and stalls gathering; host candidates suffice on a LAN / loopback.
    return RTCPeerConnection(rtc_configuration(ice_servers))


async def handle_offer(request: web.Request, ctx: ServerContext) -> web.Response:
    body = await read_json(request, max_bytes=ctx.config.max_request_bytes)
    if not isinstance(body, dict):
        return error(400, f"expected a JSON object, got {type(body).__name__}")
    sdp, typ, mode = body.get("sdp"), body.get("type"), body.get("mode", "mirror")
    if not isinstance(sdp, str) or not sdp.strip():
        return error(400, "expected 'sdp' to be a non-empty SDP string")
    if typ != "offer":
        return error(400, f"expected 'type' to be 'offer', got {typ!r}")
    if mode not in MODES:
        return error(400, f"expected 'mode' in {list(MODES)}, got {mode!r}")
    try:
        settings = parse_settings(ctx, {k: body[k] for k in ("style", "temporal", "strength", "mix", "preserve_color")
                                       if k in body},
                                  ctx.config.style or ctx.catalog.default)
    except ValueError as exc:
        return error(400, str(exc))
    if mode == "view" and ctx.broadcaster is None:
        return error(409, "no broadcast running: start the server with --source (sample, webcam or a file)")

    pc = new_peer_connection(ctx.config.ice_servers)
    try:
        peer = ctx.peers.admit(pc, mode)
    except PeersFull as exc:
        await pc.close()
        return error(503, str(exc))
    try:
        if mode == "mirror":
            _setup_mirror(ctx, peer, settings)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        if mode == "mirror" and not peer.tracks:
            raise ValueError("mirror mode: expected an offer with a video track, got none")
        if mode == "view":
            if not any(t.kind == "video" for t in pc.getTransceivers()):
                raise ValueError("view mode: expected an offer with a video transceiver (recvonly), got none")
            b = ctx.broadcaster
            assert b is not None
            proxy = b.subscribe()
            peer.on_close.append(lambda: b.unsubscribe(proxy))
            pc.addTrack(proxy)
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:  # noqa: BLE001 - aiortc raises ValueError/KeyError/... on bad SDP
        await ctx.peers.close(peer)
        return error(400, f"malformed or unsupported SDP offer: {type(exc).__name__}: {exc}")
    answer = pc.localDescription
    settings_out = peer.state.settings() if peer.state is not None else ctx.broadcaster.state.settings()  # type: ignore[union-attr]
    return web.json_response({"sdp": answer.sdp, "type": answer.type, "peer_id": peer.id, "settings": settings_out})


def _setup_mirror(ctx: ServerContext, peer: Peer, settings: dict) -> None:
    cfg = ctx.config
    peer.state = StreamState(style=settings.get("style", cfg.style or ctx.catalog.default),
                             temporal=settings.get("temporal", cfg.temporal),
                             strength=settings.get("strength", cfg.strength), stats_window=cfg.stats_window,
                             mix=settings.get("mix"), preserve_color=settings.get("preserve_color"))
    pc = peer.pc

    @pc.on("track")
    def on_track(track) -> None:
        if track.kind != "video" or peer.closed or peer.state is None:
            return  # audio is not echoed back
        out = MirrorTrack(track, ctx.worker, peer.state)
        peer.tracks.append(out)
        pc.addTrack(out)

    @pc.on("datachannel")
    def on_datachannel(channel) -> None:
        @channel.on("message")
        def on_message(message) -> None:
            reply: dict
            try:
                msg = json.loads(message)
                if isinstance(msg, dict) and msg.get("type") == "bye":
                    ctx.peers.close_soon(peer)
                    return
                if peer.state is None:
                    return
                body = {k: v for k, v in msg.items() if k != "type"} if isinstance(msg, dict) else msg
                peer.state.update(**parse_settings(ctx, body, peer.state.style))
                reply = {"type": "settings", **peer.state.settings()}
            except (ValueError, TypeError, RecursionError) as exc:
                reply = {"type": "error", "message": str(exc)}
            if channel.readyState == "open":
                channel.send(json.dumps(reply))

