"""The page's blend control in headless Chromium: a multi-style style shows it, moving the
slider changes what the server sends (known-value network: grey = 30 + 200 * w_light)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.browser.test_browser import (H, MEAN_RGB_JS, W, ServerThread, launch_chromium, open_page, sync_api,
                                       write_y4m)
from tests.stream.test_multistyle_server import STYLES, make_factory
from tests.multistyle_factory import DARK, LIGHT

pytestmark = pytest.mark.browser
TOL = 15  # VP8 + browser scaling on a flat grey frame


def _grey(page) -> float:
    return float(np.mean(page.evaluate(MEAN_RGB_JS, "remote")))


def _wait_grey(page, level: float, timeout: int = 30_000) -> None:
    js = f"""() => {{ const f = ({MEAN_RGB_JS}); const m = f('remote');
        return Math.abs((m[0] + m[1] + m[2]) / 3 - {level}) < {TOL}; }}"""
    page.wait_for_function(js, timeout=timeout)


def test_blend_slider_mirror_and_broadcast(tmp_path):
    from models.io.sample import sample_frames
    from stream.server.config import ServerConfig

    clip = tmp_path / "clip.y4m"
    write_y4m(clip, sample_frames(n=12, size=(H, W)))
    cfg = ServerConfig(style="toy:dark", temporal=False, source="sample", source_size=(H, W), token="t0ken")
    factory, _loads = make_factory()
    with ServerThread(cfg, factory, STYLES) as srv, sync_api.sync_playwright() as p:
        browser = launch_chromium(p, tmp_path, clip)
        try:
            page, errors = open_page(browser, srv.port, ".style[data-name='toy:light']")
            assert page.is_visible("#blend-box")
            page.click(".style[data-name=invert]")
            assert not page.is_visible("#blend-box")  # single style: no blend control
            page.click(".style[data-name='toy:dark']")
            assert page.is_visible("#blend-box") and page.input_value("#blend-with") == "light"

            # mirror: blend half-way over the data channel
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 10", timeout=30_000)
            _wait_grey(page, DARK)
            page.locator("#blend").fill("0.5")
            _wait_grey(page, (DARK + LIGHT) / 2)
            page.wait_for_function("document.getElementById('s-style').textContent.includes('50%')", timeout=10_000)
            page.click("#stop")

            # broadcast: the slider needs the token, then changes what every viewer sees
            page.click("#tab-view")
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 10", timeout=30_000)
            assert page.is_disabled("#blend")
            page.fill("#token", "t0ken")
            page.locator("#blend").fill("0.75")
            _wait_grey(page, DARK + 0.75 * (LIGHT - DARK))
            stats = page.evaluate("fetch('/stats').then(r => r.json())")
            assert stats["broadcast"]["mix"] == {"dark": 0.25, "light": 0.75}
            assert not errors, errors
        finally:
            browser.close()
