"""Request validation, admission limits, cleanup under churn, recording."""
from __future__ import annotations

import asyncio
import gc
import os
import threading

import aiohttp
import av
import numpy as np
import pytest

from stream.server.app import CTX
from stream.server.client import ArrayTrack, connect
from stream.server.config import ServerConfig
from tests.stream.test_server import H, W, base, pattern, run, started


async def post(url: str, **kw) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s, s.post(url, **kw) as r:
        return r.status, await r.json(content_type=None)


def test_bad_offers_get_clear_errors_and_leave_no_peer():
    async def main():
        server = await started(ServerConfig(style="invert", max_request_bytes=4096))
        try:
            url = f"{base(server)}/offer"
            status, body = await post(url, data=b"{not json")
            assert status == 400 and "JSON" in body["error"]
            status, body = await post(url, json={"sdp": "v=0\r\nthis is not sdp\r\n", "type": "offer", "mode": "mirror"})
            assert status == 400 and "SDP" in body["error"]
            status, body = await post(url, json={"sdp": "v=0", "type": "answer"})
            assert status == 400 and "'offer'" in body["error"]
            status, body = await post(url, json={"sdp": "v=0", "type": "offer", "mode": "spy"})
            assert status == 400 and "mirror" in body["error"]
            status, body = await post(url, json={"sdp": "v=0", "type": "offer", "mode": "mirror", "style": "x"})
            assert status == 400 and "invert" in body["error"]
            status, body = await post(url, json={"sdp": "v=0", "type": "offer", "mode": "view"})
            assert status == 409 and "--source" in body["error"]
            status, _ = await post(url, json={"sdp": "x" * 10_000, "type": "offer"})
            assert status == 413
            assert len(server.app[CTX].peers) == 0
        finally:
            await server.close()

    run(main())


def test_max_peers_returns_503_and_frees_slot_on_close():
    async def main():
        server = await started(ServerConfig(style="invert", temporal=False, max_peers=1))
        try:
            p1 = await connect(base(server), mode="mirror", track=ArrayTrack([pattern()]))
            with pytest.raises(ConnectionError, match="503"):
                await connect(base(server), mode="mirror", track=ArrayTrack([pattern()]))
            await p1.next_frame(timeout=10)  # connected: the close reaches the server at once
            await p1.close()
            ctx = server.app[CTX]
            while len(ctx.peers):  # bounded by run()'s wait_for
                await asyncio.sleep(0.02)
            p2 = await connect(base(server), mode="mirror", track=ArrayTrack([pattern()]))
            f, _ = await p2.next_frame(timeout=10)
            assert f.width == W
            await p2.close()
        finally:
            await server.close()

    run(main())


def test_churn_50_cycles_no_growth_in_peers_tasks_threads():
    async def main():
        server = await started(ServerConfig(style="invert", temporal=False, source="sample",
                                            source_size=(H, W), max_peers=4))
        ctx = server.app[CTX]

        async def cycle(i: int) -> None:
            mode = "mirror" if i % 2 == 0 else "view"
            peer = await connect(base(server), mode=mode, track=ArrayTrack([pattern()]) if mode == "mirror" else None)
            await peer.next_frame(timeout=10)
            sid = peer.peer_id
            # half hang up politely, half just vanish (the server notices the closed connection)
            if i % 4 < 2:
                await post(f"{base(server)}/peer/{sid}/close")
            await peer.close()
            while ctx.peers.get(sid) is not None:
                await asyncio.sleep(0.01)

        async def settle() -> tuple[int, int]:
            for _ in range(5):
                await asyncio.sleep(0)
            gc.collect()
            return len(asyncio.all_tasks()), threading.enumerate()

        try:
            for i in range(4):  # warm-up: executor threads and codec state are created lazily
                await cycle(i)
            tasks0, threads0 = await settle()
            assert len(ctx.peers) == 0
            for i in range(50):
                await cycle(i)
            tasks1, threads1 = await settle()
            assert len(ctx.peers) == 0
            assert ctx.broadcaster is not None and ctx.broadcaster.viewers == 0
            assert tasks1 <= tasks0, (tasks0, tasks1)
            # asyncio's default executor (used by aiortc's encoders) grows lazily up to its fixed
            # max_workers; every other thread must be back to the warm-up count
            def own(ts): return sorted(t.name for t in ts if not t.name.startswith("asyncio_"))
            assert own(threads1) == own(threads0), (own(threads0), own(threads1))
            assert sum(t.name.startswith("asyncio_") for t in threads1) <= min(32, (os.cpu_count() or 1) + 4)
        finally:
            await server.close()

    run(main(), timeout=120)


def test_record_to_writes_stylized_broadcast(tmp_path):
    out = tmp_path / "rec.mp4"

    async def main():
        cfg = ServerConfig(style="invert", temporal=False, source="sample", source_size=(H, W), record_to=out)
        server = await started(cfg)
        try:
            rec = server.app[CTX].broadcaster.recorder
            while rec.frames < 10:
                await asyncio.sleep(0.05)
            assert not out.exists()  # written atomically: only renamed into place on close
        finally:
            await server.close()

    run(main())
    with av.open(str(out)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) >= 10 and frames[0].shape == (H, W, 3)
    # the recording is the stylized output: compare with the inverted embedded sample's first frame
    from stream.server.sources import SampleSource

    src = SampleSource((H, W), 30.0).read()
    err = np.abs(frames[0].astype(np.float32) - (255 - src.astype(np.float32))).mean()
    assert err < 20, err


def test_peer_that_never_connects_is_dropped_after_connect_timeout():
    async def main():
        from aiortc import RTCConfiguration, RTCPeerConnection

        server = await started(ServerConfig(style="invert", connect_timeout=0.5))
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        try:
            pc.addTrack(ArrayTrack([pattern()]))
            await pc.setLocalDescription(await pc.createOffer())
            status, body = await post(f"{base(server)}/offer",
                                      json={"sdp": pc.localDescription.sdp, "type": "offer", "mode": "mirror"})
            assert status == 200
            ctx = server.app[CTX]
            assert ctx.peers.get(body["peer_id"]) is not None
            # the client never applies the answer: no ICE, no DTLS
            while ctx.peers.get(body["peer_id"]) is not None:
                await asyncio.sleep(0.05)
            assert len(ctx.peers) == 0
        finally:
            await pc.close()
            await server.close()

    run(main(), timeout=20)
