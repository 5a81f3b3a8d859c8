"""Server blend control: change a multi-style stream's mix over the data channel, HTTP and
/control, and see the worker apply it (known-value network: grey level = 30 + 200 * w_light)."""
from __future__ import annotations

import asyncio

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestServer

from models.styles.registry import stylizer_for
from stream.server.app import CTX, create_app
from stream.server.client import ArrayTrack, connect
from stream.server.config import ServerConfig
from stream.server.styles import StyleInfo
from stream.server.worker import StyleWorker
from tests.multistyle_factory import DARK, LIGHT, grey_net

H, W = 96, 128
CODEC_TOL = 12  # VP8 on a flat grey frame: measured error ~1-3 levels
MEMBERS = ("dark", "light")
STYLES = [StyleInfo("invert"), StyleInfo("toy:dark", "dark grey", "toy", MEMBERS),
          StyleInfo("toy:light", "light grey", "toy", MEMBERS)]


def make_factory():
    net = grey_net()  # one network shared by both members, as the registry catalog does
    loads: list[str] = []

    def factory(name: str):
        loads.append(name)
        if name == "invert":
            return lambda x: 1.0 - x
        return stylizer_for(net, name.partition(":")[2])

    return factory, loads


def grey(frame) -> float:
    a = frame.to_ndarray(format="rgb24").astype(np.float32)
    h, w = a.shape[:2]
    return float(a[h // 4: 3 * h // 4, w // 4: 3 * w // 4].mean())


def expect(w_light: float):
    level = DARK + (LIGHT - DARK) * w_light
    return lambda f: abs(grey(f) - level) < CODEC_TOL


async def start(app) -> tuple[TestServer, str]:
    """``app`` served on 127.0.0.1 at a free port: the server (close it) and its base URL."""
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return server, str(server.make_url("")).rstrip("/")


def run(coro, timeout: float = 90.0):
    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def wait_frames(peer, pred, n: int = 3, limit: int = 90) -> None:
    streak = 0
    for _ in range(limit):
        f, _t = await peer.next_frame(timeout=15)
        streak = streak + 1 if pred(f) else 0
        if streak >= n:
            return
    raise AssertionError(f"no {n} consecutive matching frames in {limit}")


def test_worker_applies_mix_without_reloading() -> None:
    factory, loads = make_factory()
    w = StyleWorker(factory)
    try:
        frame = np.full((32, 48, 3), 90, np.uint8)
        res = w.submit(w.stylize_sync, frame, "toy:dark", None, {"dark": 0.25, "light": 0.75}).result(30)
        assert abs(float(res.frame.mean()) - (DARK + 0.75 * (LIGHT - DARK))) <= 1.0
        assert res.mix == {"dark": 0.25, "light": 0.75}
        res = w.submit(w.stylize_sync, frame, "toy:dark", None, None).result(30)  # back to the style itself
        assert abs(float(res.frame.mean()) - DARK) <= 1.0 and res.mix == {"dark": 1.0}
        res = w.submit(w.stylize_sync, frame, "toy:light").result(30)
        assert abs(float(res.frame.mean()) - LIGHT) <= 1.0
        assert loads == ["toy:dark", "toy:light"]  # each stylizer built once; the mix never reloads
        with pytest.raises(ValueError, match="multi-style"):
            w.submit(w.stylize_sync, frame, "invert", None, {"dark": 1.0}).result(30)
    finally:
        w.close()


def test_mirror_blend_over_data_channel_and_http() -> None:
    async def main():
        factory, loads = make_factory()
        server, base = await start(create_app(ServerConfig(style="toy:dark", temporal=False), factory, styles=STYLES))
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{base}/styles") as r:
                    listed = {e["name"]: e for e in (await r.json())["styles"]}
                assert listed["toy:light"]["members"] == ["dark", "light"] and listed["toy:light"]["network"] == "toy"
                assert listed["invert"]["members"] == [] and listed["invert"]["network"] is None
                async with s.get(f"{base}{listed['toy:light']['thumbnail']}") as r:
                    assert r.status == 200 and r.content_type == "image/jpeg"
            frame = np.full((H, W, 3), 128, np.uint8)
            peer = await connect(base, mode="mirror", track=ArrayTrack([frame]))
            try:
                await wait_frames(peer, expect(0.0))
                reply = await peer.send({"mix": {"dark": 1, "light": 1}})
                assert reply["type"] == "settings" and reply["mix"] == {"dark": 0.5, "light": 0.5}
                await wait_frames(peer, expect(0.5))
                st = server.app[CTX].stats(peer.peer_id)["peer"]
                assert st["mix"] == {"dark": 0.5, "light": 0.5} and st["applied_mix"] == {"dark": 0.5, "light": 0.5}
                for bad, msg in (({"mix": {"nope": 1}}, "unknown style 'nope'"), ({"mix": {"dark": -1}}, ">= 0"),
                                 ({"mix": {"dark": 0}}, "all zero"), ({"style": "invert", "mix": {"dark": 1}}, "multi-style")):
                    err = await peer.send(bad)
                    assert err["type"] == "error" and msg in err["message"], err
                async with peer.session.post(f"{base}/peer/{peer.peer_id}/settings", json={"mix": {"light": 3}}) as r:
                    assert r.status == 200 and (await r.json())["mix"] == {"light": 1.0}
                await wait_frames(peer, expect(1.0))
                # a style switch starts unblended
                reply = await peer.send({"style": "toy:dark"})
                assert reply["mix"] is None
                await wait_frames(peer, expect(0.0))
                assert sorted(set(loads)) == ["toy:dark", "toy:light"]  # (toy:light: its thumbnail)
            finally:
                await peer.close()
        finally:
            await server.close()

    run(main())


def test_broadcast_blend_needs_token_and_shows_in_stats() -> None:
    async def main():
        factory, _loads = make_factory()
        cfg = ServerConfig(style="toy:dark", temporal=False, source="sample", source_size=(H, W), source_fps=30)
        server, base = await start(create_app(cfg, factory, styles=STYLES))
        try:
            viewer = await connect(base, mode="view")
            try:
                await wait_frames(viewer, expect(0.0))
                body = {"mix": {"dark": 0.25, "light": 0.75}}
                async with viewer.session.post(f"{base}/control", json=body) as r:
                    assert r.status == 401
                hdr = {"Authorization": f"Bearer {cfg.token}"}
                async with viewer.session.post(f"{base}/control", json=body, headers=hdr) as r:
                    assert r.status == 200 and (await r.json())["mix"] == {"dark": 0.25, "light": 0.75}
                await wait_frames(viewer, expect(0.75))
                async with viewer.session.get(f"{base}/stats") as r:
                    b = (await r.json())["broadcast"]
                assert b["mix"] == {"dark": 0.25, "light": 0.75} and b["applied_mix"] == {"dark": 0.25, "light": 0.75}
                async with viewer.session.get(f"{base}/styles") as r:
                    assert (await r.json())["broadcast"]["mix"] == {"dark": 0.25, "light": 0.75}
                async with viewer.session.post(f"{base}/control", json={"mix": [1, 2]}, headers=hdr) as r:
                    assert r.status == 400 and "mix" in (await r.json())["error"]
            finally:
                await viewer.close()
        finally:
            await server.close()

    run(main())
