"""The page's Broadcast view through Janus (server with --janus), in headless Chromium: the page
subscribes to the VideoRoom over Janus's HTTP API, sees the stylized broadcast, and the style
controls (with the token) still change what it sees. Janus runs in a namespace (tests/janus_env.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: janus_env
from janus_env import janus_env  # noqa: E402,F401 - fixture
from test_browser import CHROMIUM, MEAN_RGB_JS, ServerThread, launch_chromium, open_page, write_y4m  # noqa: E402

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (run tests/browser/install.sh)")

COLOURS = {"red": (0.9, 0.15, 0.1), "blue": (0.1, 0.2, 0.9)}


def factory(name: str):
    import torch

    c = torch.tensor(COLOURS[name]).view(1, 3, 1, 1)
    return lambda x: torch.zeros_like(x) + c.to(x)


def near(rgb, name: str) -> bool:
    return bool(np.abs(np.asarray(rgb) - np.array(COLOURS[name]) * 255).max() < 30)


def test_janus_broadcast_view_in_headless_chromium(tmp_path, janus_env):
    from models.io.sample import sample_frames
    from stream.server.config import ServerConfig

    assert CHROMIUM
    clip = tmp_path / "clip.y4m"
    write_y4m(clip, sample_frames(n=4, size=(120, 160)))
    cfg = ServerConfig(style="red", temporal=False, source="sample", source_size=(120, 160), sample_frames=4,
                       token="t0ken", janus_url=janus_env.url, janus_room=janus_env.room)
    with ServerThread(cfg, factory, ["red", "blue"]) as srv, sync_api.sync_playwright() as p:
        browser = launch_chromium(p, tmp_path, clip)
        try:
            page, errors = open_page(browser, srv.port, ".style[data-name=blue]")
            page.wait_for_function("fetch('/stats').then(r => r.json()).then(s => s.janus.state === 'publishing')",
                                   timeout=30_000, polling=200)
            page.click("#tab-view")
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 10", timeout=30_000)
            assert page.evaluate("window.stylecast.janusSub !== null && !window.stylecast.peerId")
            remote = page.evaluate(MEAN_RGB_JS, "remote")
            assert near(remote, "red"), remote
            stats = page.evaluate("fetch('/stats').then(r => r.json())")
            assert stats["peers"] == 0, "the page must watch through Janus, not a server peer"
            page.fill("#token", "t0ken")
            page.click(".style[data-name=blue]")
            page.wait_for_function(f"""() => {{ const m = ({MEAN_RGB_JS})('remote');
                return Math.abs(m[2] - {COLOURS['blue'][2] * 255}) < 30 && Math.abs(m[0] - {COLOURS['blue'][0] * 255}) < 30; }}""",
                                   timeout=20_000, polling=200)
            page.wait_for_function("document.getElementById('s-res').textContent.includes('160')", timeout=10_000)
            # Janus restarts: the server republishes, the page subscribes again on its own
            janus_env.stop()
            page.wait_for_function("document.getElementById('status').textContent.startsWith('reconnecting')",
                                   timeout=15_000, polling=200)
            janus_env.start()
            page.evaluate("window.stylecast.frames = 0")
            page.wait_for_function("window.stylecast.frames > 10 && window.stylecast.janusSub", timeout=60_000, polling=200)
            assert near(page.evaluate(MEAN_RGB_JS, "remote"), "blue")
            page.click("#stop")
            assert not errors, errors
        finally:
            browser.close()
