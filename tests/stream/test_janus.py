"""Janus SFU: `stylecast janus-config`, publishing the broadcast into a real Janus (started by the
fixture in a network namespace, see janus_env.py), viewers through Janus, reconnect after restart."""
from __future__ import annotations

import asyncio
import time

import aiohttp

import numpy as np
import pytest
import torch
from aiohttp.test_utils import TestServer

from janus_env import janus_env  # noqa: F401 - fixture
from models.cli import main
from stream.janus.subscriber import subscribe
from stream.server.app import CTX, create_app
from stream.server.config import ServerConfig

MARKER = (0.9, 0.1, 0.5)  # the stylizer paints this colour: a received frame of it went through the stylizer
CODEC_TOL = 20


def marker_factory(name: str):
    c = torch.tensor(MARKER).view(1, 3, 1, 1)
    return lambda x: torch.zeros_like(x) + c.to(x)


def is_marker(frame) -> bool:
    a = frame.to_ndarray(format="rgb24").astype(np.float32)
    return bool(np.abs(a.mean((0, 1)) - np.array(MARKER) * 255).max() < CODEC_TOL)


def run(coro, timeout: float = 90.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(pred, timeout: float, what: str):
    """Bounded poll of server-side state (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not pred():
        assert loop.time() < deadline, f"timed out after {timeout} s waiting for {what}"
        await asyncio.sleep(0.05)


def test_janus_config_cli_writes_minimal_config(tmp_path, capsys):
    assert main(["janus-config", str(tmp_path / "j"), "--address", "10.1.2.3", "--room", "77"]) == 0
    main_cfg = (tmp_path / "j" / "janus.jcfg").read_text()
    assert f'configs_folder = "{tmp_path / "j"}"' in main_cfg
    assert 'interface = "10.1.2.3"' in main_cfg and 'ice_enforce_list = "10.1.2.3"' in main_cfg
    assert 'rtp_port_range = "20000-20200"' in main_cfg
    plugins = main_cfg.split("plugins: {")[1].split("}")[0]
    transports = main_cfg.split("transports: {")[1].split("}")[0]
    assert "libjanus_videoroom.so" not in plugins and "libjanus_echotest.so" in plugins
    assert "libjanus_http.so" not in transports and "libjanus_websockets.so" in transports
    http = (tmp_path / "j" / "janus.transport.http.jcfg").read_text()
    assert 'ip = "10.1.2.3"' in http and "admin_http = false" in http
    assert "room-77: {" in (tmp_path / "j" / "janus.plugin.videoroom.jcfg").read_text()
    assert "janus -F" in capsys.readouterr().out
    assert main(["janus-config", str(tmp_path / "k"), "--address", "not-an-ip"]) == 2
    assert "--address: expected an IP address" in capsys.readouterr().err
    assert main(["janus-config", str(tmp_path / "k"), "--rtp-ports", "9-5"]) == 2
    assert main(["janus-config", str(tmp_path / "k"), "--address", "127.0.0.1"]) == 2
    assert "no loopback candidates" in capsys.readouterr().err
    # default: API on loopback only, media on the machine's addresses (no enforce list)
    assert main(["janus-config", str(tmp_path / "d")]) == 0
    assert 'ip = "127.0.0.1"' in (tmp_path / "d" / "janus.transport.http.jcfg").read_text()
    d = (tmp_path / "d" / "janus.jcfg").read_text()
    assert "ice_enforce_list" not in d and "interface =" not in d


def test_serve_rejects_bad_janus_and_ice_flags(capsys):
    assert main(["serve", "--source", "sample", "--janus", "localhost:8088"]) == 2
    assert "expected the HTTP API URL" in capsys.readouterr().err
    assert main(["serve", "--janus", "http://127.0.0.1:8088/janus"]) == 2
    assert "expected --source" in capsys.readouterr().err
    assert main(["serve", "--source", "sample", "--janus", "http://h/janus", "--janus-page-url", "ws://h"]) == 2
    assert "--janus-page-url: expected an http(s) URL" in capsys.readouterr().err
    assert main(["serve", "--ice-server", "turn:host:3478"]) == 2
    assert "needs credentials" in capsys.readouterr().err


async def _server(env, **kw) -> TestServer:
    cfg = ServerConfig(style="marker", temporal=False, source="sample", source_size=(96, 128), sample_frames=4,
                       janus_url=env.url, janus_room=env.room, **kw)
    server = TestServer(create_app(cfg, marker_factory, styles=["marker"]), host="127.0.0.1", port=0)
    await server.start_server()
    return server


def test_janus_publish_once_viewers_subscribe_and_stats(janus_env):
    async def main_():
        server = await _server(janus_env)
        try:
            ctx = server.app[CTX]
            await until(lambda: ctx.janus.state == "publishing", 20, "the publisher to join the room")
            viewers = [await subscribe(janus_env.url, janus_env.room) for _ in range(2)]
            try:
                for v in viewers:
                    frames = [await v.next_frame(15) for _ in range(3)]
                    assert all(is_marker(f) for f in frames), frames[-1].to_ndarray(format="rgb24").mean((0, 1))
                    assert (frames[-1].width, frames[-1].height) == (128, 96)
            finally:
                for v in viewers:
                    await v.close()
            async with aiohttp.ClientSession() as http:
                async with http.get(server.make_url("/stats")) as r:
                    st = await r.json()
                async with http.get(server.make_url("/styles")) as r:
                    page = await r.json()
            assert st["janus"]["state"] == "publishing" and st["janus"]["room"] == janus_env.room
            assert st["janus"]["publisher_id"] and st["janus"]["connects"] == 1
            assert page["janus"] == {"url": janus_env.url, "room": janus_env.room, "display": "stylecast"}
        finally:
            await server.close()
        # leave on shutdown: the room is empty again (no 60 s ghost publisher)
        probe = None
        try:
            with pytest.raises(LookupError):
                probe = await subscribe(janus_env.url, janus_env.room)
        finally:
            if probe is not None:
                await probe.close()

    run(main_())


def test_janus_restart_publisher_reconnects_broadcast_keeps_running(janus_env):
    async def main_():
        server = await _server(janus_env)
        try:
            ctx = server.app[CTX]
            await until(lambda: ctx.janus.state == "publishing", 20, "the publisher to join the room")
            janus_env.stop()
            await until(lambda: ctx.janus.state == "reconnecting" and ctx.janus.failures >= 1, 15,
                        "the publisher to notice Janus is gone")
            frames0 = ctx.broadcaster.state.stats.frames
            await until(lambda: ctx.broadcaster.state.stats.frames >= frames0 + 10, 15,
                        "the broadcast to keep stylizing while Janus is down")
            st = ctx.stats()
            assert st["janus"]["state"] == "reconnecting" and st["janus"]["last_error"]
            janus_env.start()
            await until(lambda: ctx.janus.state == "publishing", 40, "the publisher to reconnect")
            assert ctx.janus.connects == 2 and ctx.stats()["janus"]["reconnects"] == 1
            v = await subscribe(janus_env.url, janus_env.room)
            try:
                assert is_marker(await v.next_frame(15))
            finally:
                await v.close()
        finally:
            if janus_env.proc is None:
                janus_env.start()
            await server.close()

    run(main_(), timeout=120)


def test_janus_twenty_viewers_server_cpu_flat(janus_env):
    """1 publisher, 21 viewers through Janus: all receive stylized frames, and the stylecast
    process's CPU seconds per second with 20 viewers stay within 1.3x of those with one (the
    stream is encoded once; Janus fans the packets out)."""
    from janus_load import start_server, stop_server
    from janus_env import proc_cpu_seconds

    proc, port = start_server(size=(120, 160), fps=30, janus_url=janus_env.url,
                              ready=lambda s: s["janus"]["state"] == "publishing")

    async def cpu_rate(window: float) -> float:
        c0, t0 = proc_cpu_seconds(proc.pid), time.monotonic()
        await asyncio.sleep(window)  # a measurement window, not a wait for an event
        return (proc_cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)

    async def main_():
        first = await subscribe(janus_env.url, janus_env.room)
        viewers = [first]
        try:
            assert is_marker(await first.next_frame(15))
            await until(lambda: stats_fps(port) > 20, 30, "the broadcast to run at its rate")
            one = await cpu_rate(5.0)
            viewers += await asyncio.gather(*(subscribe(janus_env.url, janus_env.room) for _ in range(20)))
            for v in viewers:
                assert is_marker(await v.next_frame(20))
            counts = [v.received for v in viewers]
            twenty = await cpu_rate(5.0)
            gained = [v.received - c for v, c in zip(viewers, counts)]
            assert min(gained) >= 30, f"a viewer stalled: frames in 5 s per viewer {gained}"
            st = stats_json(port)
            assert st["janus"]["state"] == "publishing" and st["peers"] == 0
            print(f"stylecast CPU s/s: 1 viewer {one:.3f}, 21 viewers {twenty:.3f} (x{twenty / one:.2f}); "
                  f"frames/5 s per viewer min {min(gained)} max {max(gained)}")
            assert twenty <= 1.3 * one, f"server CPU grew with viewers: {one:.3f} -> {twenty:.3f} s/s"
        finally:
            await asyncio.gather(*(v.close() for v in viewers))

    try:
        run(main_(), timeout=150)
    finally:
        stop_server(proc)


def stats_json(port: int) -> dict:
    from janus_load import stats

    return stats(port)


def stats_fps(port: int) -> float:
    return stats_json(port)["broadcast"]["fps"]


def test_janus_stale_publisher_of_a_crashed_server_is_replaced(janus_env):
    """A crashed stylecast leaves its publisher in the room until Janus's 60 s session timeout
    (the room takes one publisher): a new server evicts it and publishes at once."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

    from stream.janus.client import JanusSession
    from stream.janus.publisher import JanusPublisher
    from stream.server.client import ArrayTrack

    async def main_():
        grey = np.full((96, 128, 3), 128, np.uint8)
        async with aiohttp.ClientSession() as http:
            ghost = JanusSession(janus_env.url, http)
            await ghost.create()
            h = await ghost.attach("janus.plugin.videoroom")
            await ghost.message(h, {"request": "join", "ptype": "publisher", "room": janus_env.room, "display": "stylecast"})
            pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            pc.addTransceiver(ArrayTrack([grey]), direction="sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            ans = await ghost.message(h, {"request": "configure", "video": True},
                                      jsep={"type": "offer", "sdp": pc.localDescription.sdp})
            await pc.setRemoteDescription(RTCSessionDescription(**{k: ans["jsep"][k] for k in ("sdp", "type")}))
            await asyncio.wait_for(JanusPublisher._webrtcup(ghost, h), 15)  # the ghost really publishes
            try:
                server = await _server(janus_env)
                try:
                    ctx = server.app[CTX]
                    await until(lambda: ctx.janus.state == "publishing", 20, "the new server to take the room")
                    assert ctx.janus.failures == 0
                    v = await subscribe(janus_env.url, janus_env.room)
                    try:
                        f = await v.next_frame(15)
                        assert is_marker(f), ("a viewer must get the new server's stream", f.to_ndarray(format="rgb24").mean((0, 1)))
                    finally:
                        await v.close()
                finally:
                    await server.close()
            finally:
                await pc.close()
                await ghost.destroy()

    run(main_())
