"""In-process WebRTC round trips: an aiortc client on 127.0.0.1 against create_app().

The stylizers are deterministic (colour inversion, identity) so received frames can be checked
against known values after the VP8 round trip. Every wait is bounded by asyncio.wait_for.
"""
from __future__ import annotations

from stream.server.temporal import DEFAULT_STRENGTH

import asyncio

import numpy as np
from aiohttp.test_utils import TestServer

from stream.server.app import CTX, create_app
from stream.server.client import ArrayTrack, connect
from stream.server.config import ServerConfig

H, W = 96, 128
CODEC_TOL = 40  # VP8 at low bitrate on flat colour regions: measured error is ~5-15 levels


def factory(name: str):
    if name == "invert":
        return lambda x: 1.0 - x
    if name == "identity":
        return lambda x: x.clone()
    raise KeyError(name)


def pattern() -> np.ndarray:
    """Left half red-ish, right half blue-ish: flat regions survive the codec, halves tell orientation."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:, : W // 2] = (200, 40, 40)
    img[:, W // 2 :] = (30, 60, 210)
    return img


def region_means(frame) -> tuple[np.ndarray, np.ndarray]:
    a = frame.to_ndarray(format="rgb24").astype(np.float32)
    h, w = a.shape[:2]
    return a[h // 4 : 3 * h // 4, w // 8 : 3 * w // 8].mean((0, 1)), a[h // 4 : 3 * h // 4, 5 * w // 8 : 7 * w // 8].mean((0, 1))


def is_inverted(frame) -> bool:
    left, right = region_means(frame)
    return bool(np.abs(left - (55, 215, 215)).max() < CODEC_TOL and np.abs(right - (225, 195, 45)).max() < CODEC_TOL)


def is_identity(frame) -> bool:
    left, right = region_means(frame)
    return bool(np.abs(left - (200, 40, 40)).max() < CODEC_TOL and np.abs(right - (30, 60, 210)).max() < CODEC_TOL)


def run(coro, timeout: float = 60.0):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def started(cfg: ServerConfig) -> TestServer:
    server = TestServer(create_app(cfg, factory, styles=["invert", "identity"]), host="127.0.0.1", port=0)
    await server.start_server()
    return server


def base(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


async def wait_frames(peer, pred, n: int, limit: int = 120) -> list:
    """Read frames until ``n`` consecutive satisfy ``pred`` (at most ``limit`` frames)."""
    seen, run_len = [], 0
    for _ in range(limit):
        f, _t = await peer.next_frame(timeout=10)
        seen.append(f)
        run_len = run_len + 1 if pred(f) else 0
        if run_len >= n:
            return seen
    raise AssertionError(f"no {n} consecutive matching frames in {limit}")


def test_mirror_stylizes_pts_increase_and_style_switch():
    async def main():
        server = await started(ServerConfig(style="invert", temporal=False))
        try:
            peer = await connect(base(server), mode="mirror", track=ArrayTrack([pattern()]))
            try:
                frames = await wait_frames(peer, is_inverted, n=5)
                pts = [f.pts for f in frames[-5:]]
                assert all(b > a for a, b in zip(pts, pts[1:])), pts
                assert frames[-1].width == W and frames[-1].height == H
                reply = await peer.send({"style": "identity"})
                assert reply == {"type": "settings", "style": "identity", "temporal": False, "strength": DEFAULT_STRENGTH,
                                 "mix": None, "preserve_color": None}
                # at most a few frames already in flight keep the old style
                switched = await wait_frames(peer, is_identity, n=3, limit=30)
                assert len(switched) <= 15, len(switched)
                bad = await peer.send({"style": "nope"})
                assert bad["type"] == "error" and "invert" in bad["message"]
                stats = server.app[CTX].stats(peer.peer_id)
                assert stats["peers"] == 1 and stats["peer"]["style"] == "identity"
                assert stats["latency_ms"]["count"] > 0 and stats["latency_ms"]["p50"] > 0
            finally:
                await peer.close()
        finally:
            await server.close()

    run(main())


def test_broadcast_fans_out_to_two_viewers_and_control_needs_token(tmp_path):
    async def main():
        cfg = ServerConfig(style="invert", temporal=True, source="sample", source_size=(H, W), source_fps=30)
        server = await started(cfg)
        try:
            ctx = server.app[CTX]
            a = await connect(base(server), mode="view")
            b = await connect(base(server), mode="view")
            try:
                fa, _ = await a.next_frame(timeout=15)
                fb, _ = await b.next_frame(timeout=15)
                assert (fa.width, fa.height) == (W, H) and (fb.width, fb.height) == (W, H)
                assert ctx.broadcaster is not None and ctx.broadcaster.viewers == 2
                async with a.session.post(f"{base(server)}/control", json={"style": "identity"}) as r:
                    assert r.status == 401
                hdr = {"Authorization": f"Bearer {cfg.token}"}
                async with a.session.post(f"{base(server)}/control", json={"strength": 2}, headers=hdr) as r:
                    assert r.status == 400 and "strength" in (await r.json())["error"]
                async with a.session.post(f"{base(server)}/control", json={"style": "identity"}, headers=hdr) as r:
                    assert r.status == 200 and (await r.json())["style"] == "identity"
                assert ctx.broadcaster.state.style == "identity"
                async with a.session.get(f"{base(server)}/stats") as r:
                    st = await r.json()
                assert st["viewers"] == 2 and st["broadcast"]["frames"] > 0 and st["broadcast"]["source"]
            finally:
                await a.close()
                await b.close()
        finally:
            await server.close()

    run(main())
