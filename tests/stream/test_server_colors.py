"""Server colour control: a stream's "preserve_color" over the data channel / HTTP, applied by the
worker on top of (or instead of) the style's own setting. Known values: the test stylizer turns
any frame into its grey luminance, so "keep colours" must bring the frame's own colours back."""
from __future__ import annotations

import aiohttp
import numpy as np
import pytest
import torch

from models.nets.color import ColorPreserving, rgb_to_yiq
from stream.server.app import create_app
from stream.server.client import ArrayTrack, connect
from stream.server.config import ServerConfig
from stream.server.settings import parse_settings
from stream.server.styles import StyleInfo
from stream.server.tracks import StreamState
from stream.server.worker import StyleWorker
from tests.stream.test_multistyle_server import run, start, wait_frames

RED = (200, 60, 40)  # luma 0.299*200 + 0.587*60 + 0.114*40 = 99.6
LUMA = 99.6
CODEC_TOL = 14  # VP8 on a flat frame, per channel


def to_grey(x: torch.Tensor) -> torch.Tensor:
    return rgb_to_yiq(x)[:, :1].expand(-1, 3, -1, -1).clamp(0, 1)


def factory(name: str):
    # "grey": a style without colour preservation; "grey_keeps": one whose file asks for it
    return ColorPreserving(to_grey) if name == "grey_keeps" else to_grey


STYLES = [StyleInfo("grey"), StyleInfo("grey_keeps", preserve_color=1.0)]


def test_worker_override_replaces_the_styles_own_setting() -> None:
    w = StyleWorker(factory)
    frame = np.zeros((16, 24, 3), np.uint8)
    frame[:] = RED
    try:
        def mean_rgb(style: str, colors: float | None) -> np.ndarray:
            return w.submit(w.stylize_sync, frame, style, None, None, colors).result(30).frame.reshape(-1, 3).mean(0)

        assert np.abs(mean_rgb("grey", None) - LUMA).max() <= 1  # the style's own: grey
        assert np.abs(mean_rgb("grey", 1.0) - RED).max() <= 1.5  # keep colours: the frame comes back
        assert np.abs(mean_rgb("grey_keeps", None) - RED).max() <= 1.5  # its file keeps colours
        assert np.abs(mean_rgb("grey_keeps", 0.0) - LUMA).max() <= 1  # override: off
        half = mean_rgb("grey", 0.5)
        assert LUMA < half[0] < RED[0] and RED[1] < half[1] < LUMA  # chroma halfway
    finally:
        w.close()


def test_stream_state_colours_follow_the_style_unless_set() -> None:
    st = StreamState(style="a", temporal=True, strength=0.5)
    assert st.preserve_color is None and st.settings()["preserve_color"] is None
    b0 = st.blender
    st.update(preserve_color=1.0)
    assert st.preserve_color == 1.0 and st.blender is not b0  # colours changed: history restarts
    b1 = st.blender
    st.update(strength=0.5)
    assert st.preserve_color == 1.0 and st.blender is b1  # other settings keep it
    st.update(style="b")
    assert st.preserve_color is None  # a chosen style starts in its own colours
    st.update(style="a", preserve_color=0.0)
    assert st.preserve_color == 0.0
    with pytest.raises(ValueError, match=r"preserve_color must be in \[0,1\]"):
        st.update(preserve_color=2.0)


def test_settings_validation() -> None:
    ctx = None  # colours need no catalog
    assert parse_settings(ctx, {"preserve_color": 1}) == {"preserve_color": 1.0}  # type: ignore[arg-type]
    assert parse_settings(ctx, {"preserve_color": None}) == {"preserve_color": None}  # type: ignore[arg-type]
    for bad in (True, "1", 1.5, -0.1):
        with pytest.raises(ValueError, match=r"preserve_color: expected null or a number in \[0,1\]"):
            parse_settings(ctx, {"preserve_color": bad})  # type: ignore[arg-type]


def test_mirror_colours_over_data_channel_and_http() -> None:
    def near(rgb):
        def pred(f) -> bool:
            a = f.to_ndarray(format="rgb24").astype(np.float32)
            h, w = a.shape[:2]
            m = a[h // 4: 3 * h // 4, w // 4: 3 * w // 4].reshape(-1, 3).mean(0)
            return bool(np.abs(m - np.asarray(rgb, np.float32)).max() < CODEC_TOL)
        return pred

    async def main() -> None:
        server, base = await start(create_app(ServerConfig(style="grey", temporal=False), factory, styles=STYLES))
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"{base}/styles") as r:
                    listed = {e["name"]: e["preserve_color"] for e in (await r.json())["styles"]}
            assert listed == {"grey": 0.0, "grey_keeps": 1.0}
            frame = np.zeros((96, 128, 3), np.uint8)
            frame[:] = RED
            peer = await connect(base, mode="mirror", track=ArrayTrack([frame]))
            try:
                await wait_frames(peer, near((LUMA,) * 3))
                reply = await peer.send({"preserve_color": 1})
                assert reply["type"] == "settings" and reply["preserve_color"] == 1.0
                await wait_frames(peer, near(RED))
                err = await peer.send({"preserve_color": 3})
                assert err["type"] == "error" and "preserve_color" in err["message"]
                async with peer.session.post(f"{base}/peer/{peer.peer_id}/settings",
                                             json={"style": "grey_keeps", "preserve_color": 0}) as r:
                    assert r.status == 200 and (await r.json())["preserve_color"] == 0.0
                await wait_frames(peer, near((LUMA,) * 3))
                reply = await peer.send({"style": "grey_keeps"})  # its own setting again: colours
                assert reply["preserve_color"] is None
                await wait_frames(peer, near(RED))
            finally:
                await peer.close()
        finally:
            await server.close()

    run(main())
