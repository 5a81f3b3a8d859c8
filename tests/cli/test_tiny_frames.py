"""Issue 20 (defect 2): frames under ~12 px crashed OpenCV's DIS flow (cv2.error) in
``stylecast flow``, ``stylecast live`` and the server's broadcast; the networks take any size,
so the flow must too (DISFlow pads tiny grey images; one place)."""
from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import torch

from models.cli import main
from models.flow.files import read_flo
from models.flow.estimators import DISConfig, DISFlow
from models.io import write_image
from stream.server.app import CTX, create_app
from stream.server.config import ServerConfig
from tests.media_factory import make_video
from tests.stream.test_server import factory

SIZES = [(1, 1), (8, 8), (11, 5), (1, 200), (7, 300), (12, 12), (16, 100), (24, 1024), (31, 31)]


@pytest.mark.parametrize("h, w", SIZES)
def test_dis_flow_takes_any_size(h: int, w: int) -> None:
    rng = np.random.default_rng(h * 1000 + w)
    a = torch.from_numpy(rng.random((1, 3, h, w), dtype=np.float32))
    for preset in ("ultrafast", "fast", "medium"):
        dis = DISFlow(DISConfig(preset=preset, max_side=None))
        flow = dis(a, a.clone())
        assert flow.shape == (1, 2, h, w) and torch.isfinite(flow).all()
        assert flow.abs().max() < 0.5  # identical frames: no motion
        g = (rng.random((h, w)) * 255).astype(np.uint8)
        assert dis.calc_gray(g, g).shape == (h, w, 2)


def test_dis_flow_on_padded_small_frame_still_sees_motion() -> None:
    # a 10x14 frame whose bright block moves 1 px right: the flow inside the block points right
    a = np.zeros((10, 14), np.uint8)
    a[3:7, 4:8] = 255
    b = np.roll(a, 1, axis=1)
    flow = DISFlow(DISConfig(preset="medium", max_side=None)).calc_gray(a, b)
    assert flow[4:6, 5:7, 0].mean() > 0.3


def test_flow_command_on_1x1_png(tmp_path: Path, capsys) -> None:
    one = write_image(tmp_path / "one.png", np.full((1, 1, 3), 128, np.uint8))
    assert main(["flow", str(one), str(one), "-o", str(tmp_path / "d")]) == 0
    assert read_flo(tmp_path / "d" / "forward.flo").shape == (1, 1, 2)


def test_live_on_8x8_video(tmp_path: Path, capsys) -> None:
    src = tmp_path / "tiny8.mp4"
    make_video(src, width=8, height=8, n=6, audio=None)
    rc = main(["live", "--source", str(src), "--sink", "null", "--device", "cpu", "--max-frames", "6"])
    assert rc == 0
    assert "error" not in capsys.readouterr().err.lower()


def test_broadcast_of_8x8_video_keeps_running(tmp_path: Path) -> None:
    src = tmp_path / "tiny8.mp4"
    make_video(src, width=8, height=8, n=6, audio=None)

    async def main_():
        from aiohttp.test_utils import TestServer

        cfg = ServerConfig(style="invert", temporal=True, source=str(src), record_to=tmp_path / "rec.mp4")
        server = TestServer(create_app(cfg, factory, styles=["invert"]), host="127.0.0.1", port=0)
        await server.start_server()
        try:
            b = server.app[CTX].broadcaster
            while b.state.stats.snapshot()["frames"] < 8 and b.error is None:  # loops the file; bounded by wait_for
                await asyncio.sleep(0.05)
            assert b.error is None
        finally:
            await server.close()

    asyncio.run(asyncio.wait_for(main_(), 60))
