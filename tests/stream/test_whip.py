"""WHIP ingest (RFC 9725) and WHEP playback with in-process aiortc clients against create_app():
a WHIP publisher's video becomes the stylized broadcast a WHEP player receives; every bad request
is a clear 4xx that leaves the live publisher and the broadcast running."""
from __future__ import annotations

import asyncio

import aiohttp
from aiohttp.test_utils import TestServer

from stream.server.app import CTX, create_app
from stream.server.client import ArrayTrack
from stream.server.config import ServerConfig
from stream.server.whip_client import HttpError, whep_play, whip_publish
from test_server import H, W, factory, is_inverted, pattern, run, wait_frames

TOKEN = "s3cret"


async def started(**kw) -> TestServer:
    cfg = ServerConfig(style="invert", temporal=False, token=TOKEN, **kw)
    server = TestServer(create_app(cfg, factory, styles=["invert", "identity"]), host="127.0.0.1", port=0)
    await server.start_server()
    return server


async def status_of(coro) -> int:
    try:
        s = await coro
    except HttpError as exc:
        return exc.status
    await s.close()
    return 201


def test_whip_publisher_becomes_the_broadcast_whep_plays_it():
    async def main():
        server = await started(source="whip")
        url = str(server.make_url("")).rstrip("/")
        ctx = server.app[CTX]
        try:
            viewer = await whep_play(f"{url}/whep")
            # a publisher sending audio too (OBS does): audio refused (inactive), video used
            from aiortc.mediastreams import AudioStreamTrack

            pub = await whip_publish(f"{url}/whip", ArrayTrack([pattern()]), token=TOKEN, audio=AudioStreamTrack())
            try:
                assert "a=inactive" in pub.pc.remoteDescription.sdp.split("m=audio")[1].split("m=video")[0]
                assert pub.location.endswith(f"/whip/{ctx.whip.current.id}")
                frames = await wait_frames(viewer, is_inverted, 5)
                assert (frames[-1].width, frames[-1].height) == (W, H)
                st = ctx.stats()
                assert st["whip"]["publishing"] and st["whip"]["frames"] > 0
                assert st["broadcast"]["source"].startswith("WHIP publisher")
                assert viewer.location.endswith(f"/whep/{next(iter(ctx.peers)).id}") and st["viewers"] == 1
            finally:
                assert await pub.close() == 200
            assert ctx.whip.current is None and "waiting" in ctx.broadcaster.source.description
            # the next publisher takes over; the same viewer sees it (identity now, via /control)
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{url}/control", json={"style": "identity"},
                                     headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                    assert r.status == 200
            from test_server import is_identity

            pub2 = await whip_publish(f"{url}/whip", ArrayTrack([pattern()]), token=TOKEN)
            try:
                await wait_frames(viewer, is_identity, 5)
            finally:
                await pub2.close()
            assert await viewer.close() == 200
            assert len(ctx.peers) == 0
        finally:
            await server.close()

    run(main(), timeout=90)


def test_whip_whep_bad_requests_are_4xx_and_leave_the_broadcast_running():
    async def main():
        server = await started(source="whip")
        url = str(server.make_url("")).rstrip("/")
        ctx = server.app[CTX]
        try:
            viewer = await whep_play(f"{url}/whep")
            pub = await whip_publish(f"{url}/whip", ArrayTrack([pattern()]), token=TOKEN)
            await wait_frames(viewer, is_inverted, 3)
            live_id = ctx.whip.current.id
            async with aiohttp.ClientSession() as http:
                sdp = {"Content-Type": "application/sdp"}
                auth = {**sdp, "Authorization": f"Bearer {TOKEN}"}
                cases = [
                    (http.post(f"{url}/whip", data="v=0\r\n", headers=sdp), 401, "Authorization: Bearer"),
                    (http.post(f"{url}/whip", data="v=0\r\n", headers={**sdp, "Authorization": "Bearer nope"}), 401, "Bearer"),
                    (http.post(f"{url}/whip", data="v=0\r\n", headers={**auth, "Content-Type": "text/plain"}), 415, "application/sdp"),
                    (http.post(f"{url}/whip", data="hello", headers=auth), 400, "v=0"),
                    (http.post(f"{url}/whip", data="v=0\r\n", headers=auth), 409, "already live"),
                    (http.post(f"{url}/whip", data="x" * 100_000, headers=auth), 413, "too large"),
                    (http.delete(f"{url}/whip/unknown", headers=auth), 404, "no WHIP session"),
                    (http.delete(f"{url}/whip/{live_id}"), 401, "Bearer"),
                    (http.patch(f"{url}/whip/{live_id}", data="a=x", headers=auth), 405, "trickle"),
                    (http.post(f"{url}/whep", data="v=0\r\nm=garbage\r\n", headers=sdp), 400, "malformed"),
                    (http.post(f"{url}/whep", data="{}", headers={"Content-Type": "application/json"}), 415, "application/sdp"),
                    (http.delete(f"{url}/whep/unknown"), 404, "no WHEP session"),
                ]
                for req, want, text in cases:
                    async with req as r:
                        body = await r.text()
                        assert r.status == want and text in body, (r.method, str(r.url), r.status, body)
                        if want == 401:
                            assert r.headers.get("WWW-Authenticate") == "Bearer"
                async with http.options(f"{url}/whip") as r:  # CORS preflight of a browser client elsewhere
                    assert r.status == 204 and r.headers["Accept-Post"] == "application/sdp"
                    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
                    assert r.headers["Access-Control-Allow-Origin"] == "*"
                # garbage SDP while no publisher is live: 400, nothing left behind
                await pub.close()
                async with http.post(f"{url}/whip", data="v=0\r\nm=video x\r\n", headers=auth) as r:
                    assert r.status == 400 and "malformed" in await r.text()
                assert ctx.whip.current is None
                # a recvonly (WHEP-style) offer is not a publisher
                from aiortc import RTCPeerConnection

                pc = RTCPeerConnection()
                pc.addTransceiver("video", direction="recvonly")
                await pc.setLocalDescription(await pc.createOffer())
                async with http.post(f"{url}/whip", data=pc.localDescription.sdp, headers=auth) as r:
                    assert r.status == 400 and "sending video" in await r.text()
                await pc.close()
                assert ctx.whip.current is None
            pub = await whip_publish(f"{url}/whip", ArrayTrack([pattern()]), token=TOKEN)
            try:
                n0 = viewer.received
                await wait_frames(viewer, is_inverted, 5)
                assert viewer.received > n0 and ctx.broadcaster.error is None
            finally:
                await pub.close()
                await viewer.close()
        finally:
            await server.close()

    run(main(), timeout=90)


def test_whip_off_and_whep_without_broadcast_answer_409():
    async def main():
        mirror_only = await started()
        sample = await started(source="sample", source_size=(H, W))
        try:
            u1 = str(mirror_only.make_url("")).rstrip("/")
            u2 = str(sample.make_url("")).rstrip("/")
            assert await status_of(whep_play(f"{u1}/whep")) == 409
            assert await status_of(whip_publish(f"{u2}/whip", ArrayTrack([pattern()]), token=TOKEN)) == 409
            s = await whep_play(f"{u2}/whep")  # WHEP plays any broadcast source
            try:
                await wait_frames(s, lambda f: True, 2)
            finally:
                await s.close()
        finally:
            await mirror_only.close()
            await sample.close()

    run(main(), timeout=60)
