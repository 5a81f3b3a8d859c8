"""Small units of the server with known values: latest-frame-wins slot, stats, worker, settings."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

from stream.server.stats import FrameStats, merge
from stream.server.tracks import LatestSlot, StreamState
from stream.server.worker import StyleWorker


def test_latest_slot_keeps_only_newest_and_reports_drops():
    async def main():
        slot: LatestSlot[int] = LatestSlot()
        assert slot.put(1) is False
        assert slot.put(2) is True  # 1 was never read: dropped
        assert await asyncio.wait_for(slot.get(), 1) == 2
        getter = asyncio.ensure_future(slot.get())
        await asyncio.sleep(0)
        assert not getter.done()
        slot.put(3)
        assert await asyncio.wait_for(getter, 1) == 3
        slot.close()
        with pytest.raises(Exception, match="ended"):
            await asyncio.wait_for(slot.get(), 1)

    asyncio.run(main())


def test_frame_stats_percentiles_fps_and_merge():
    s = FrameStats(window=100)
    for i in range(1, 101):  # latencies 1..100 ms, one frame every 0.1 s
        s.record(i / 1000, width=64, height=48, now=10 + i * 0.1)
    lat = s.latency_ms()
    assert lat["count"] == 100 and lat["p50"] == pytest.approx(50.5) and lat["max"] == 100.0
    assert lat["p99"] == pytest.approx(99.01)
    assert s.fps(now=20.0) == pytest.approx(10.0, rel=0.06)
    s.drop(3)
    other = FrameStats()
    other.record(0.2, width=64, height=48)
    m = merge([s, other])
    assert m["frames"] == 101 and m["drops"] == 3 and m["latency_ms"]["max"] == 200.0


def test_worker_stylizes_off_thread_downscales_to_even_size_and_closes():
    calls = []

    def factory(name):
        calls.append(name)
        return lambda x: 1.0 - x

    w = StyleWorker(factory, max_side=64)
    try:
        frame = np.full((75, 101, 3), 200, np.uint8)
        res = asyncio.run(w.stylize(frame, style="inv"))
        assert res.frame.shape == (46, 64, 3)  # 101 -> 64 wide, 75*64/101=47.5 -> 46 (even)
        assert np.abs(res.frame.astype(int) - 55).max() <= 1
        asyncio.run(w.stylize(frame, style="inv"))
        assert calls == ["inv"]  # loaded once, cached
        bad = w.submit(w.stylize_sync, np.zeros((4, 4), np.uint8), "inv")
        with pytest.raises(ValueError, match="HxWx3 uint8"):
            bad.result(10)
    finally:
        w.close()
    assert not w.alive
    assert w.submit(lambda: 1).exception(1) is not None  # closed: refuses new work


def test_worker_names_the_style_whose_network_returns_the_wrong_shape():
    w = StyleWorker(lambda name: (lambda x: x[..., :-2]), max_side=64)  # crops two columns
    try:
        frame = np.full((32, 48, 3), 100, np.uint8)
        with pytest.raises(ValueError, match=r"stylizer 'crop': stylizer: expected output shape \(1, 3, 32, 48\), "
                                             r"got \(1, 3, 32, 46\)"):
            asyncio.run(w.stylize(frame, style="crop"))
    finally:
        w.close()


def test_stream_state_new_blender_on_style_change_and_validates_strength():
    st = StreamState(style="a", temporal=True, strength=0.5)
    b0 = st.blender
    st.update(strength=0.5)
    assert st.blender is b0  # no change, history kept
    st.update(style="b")
    assert st.blender is not b0 and st.style == "b"
    st.update(temporal=False)
    assert st.blender is None
    with pytest.raises(ValueError, match=r"\[0,1\]"):
        st.update(strength=1.5)
    # the blender is really temporal: a static scene returns the previous output where reliable
    st = StreamState(style="a", temporal=True, strength=1.0)
    x = torch.rand(1, 3, 32, 32)
    first = st.blender(x, torch.zeros_like(x))
    second = st.blender(x, torch.ones_like(x))
    assert first.abs().max() == 0 and second.mean() < 0.5


def test_broadcast_failure_is_reported_in_stats():
    from aiohttp.test_utils import TestServer

    from stream.server.app import CTX, create_app
    from stream.server.config import ServerConfig

    def broken(name):
        def fn(x):
            raise RuntimeError("model exploded")
        return fn

    async def main():
        cfg = ServerConfig(source="sample", source_size=(32, 48), record_to=None, temporal=False)
        server = TestServer(create_app(cfg, broken, styles=["broken"]), host="127.0.0.1")
        await server.start_server()
        try:
            ctx = server.app[CTX]
            ctx.broadcaster.subscribe()  # a viewer wakes the broadcast
            while ctx.broadcaster.error is None:
                await asyncio.sleep(0.02)
            assert "model exploded" in ctx.stats()["broadcast"]["error"]
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main(), 30))


@pytest.mark.cuda
def test_worker_releases_gpu_memory_on_close():
    from models.nets.transformer import PRESETS, TransformerNet
    from stream.server.tracks import StreamState

    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    w = StyleWorker(lambda name: TransformerNet(PRESETS["light"]).cuda().half().eval(), device="cuda")
    st = StreamState(style="light", temporal=True, strength=0.7)
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    for _ in range(3):
        res = asyncio.run(w.stylize(frame, style="light", blender=st.blender))
    assert res.frame.shape == (120, 160, 3)
    assert torch.cuda.memory_allocated() > base
    w.close()
    del st  # the peer's blender (its previous frames) goes with the peer
    torch.cuda.synchronize()
    assert torch.cuda.memory_allocated() <= base + 1024
