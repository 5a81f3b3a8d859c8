"""The page's "Keep camera colours" switch in headless Chromium: it follows the chosen style's
own setting, and flipping it changes what the server sends (test stylizer: grey luminance)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.browser.test_browser import (H, MEAN_RGB_JS, W, ServerThread, launch_chromium, open_page, sync_api,
                                       write_y4m)
from tests.stream.test_server_colors import STYLES, factory

pytestmark = pytest.mark.browser
SPREAD_JS = f"""() => {{ const m = ({MEAN_RGB_JS})('remote');
    return Math.max(...m) - Math.min(...m); }}"""


def _wait_spread(page, *, coloured: bool, timeout: int = 30_000) -> None:
    cond = "> 25" if coloured else "< 6"
    page.wait_for_function(f"() => ({SPREAD_JS})() {cond}", timeout=timeout)


def test_keep_colours_switch_follows_style_and_changes_the_stream(tmp_path):
    from stream.server.config import ServerConfig

    # a saturated clip: orange left half, blue right half (luma alone would be grey)
    frames = np.zeros((12, H, W, 3), np.uint8)
    frames[:, :, : W // 2] = (230, 120, 30)
    frames[:, :, W // 2:] = (40, 90, 220)
    clip = tmp_path / "clip.y4m"
    write_y4m(clip, frames)
    cfg = ServerConfig(style="grey", temporal=False)
    with ServerThread(cfg, factory, STYLES) as srv, sync_api.sync_playwright() as p:
        browser = launch_chromium(p, tmp_path, clip)
        try:
            page, errors = open_page(browser, srv.port, ".style[data-name=grey_keeps]")
            assert not page.is_checked("#colors")  # "grey" keeps no colours by default
            page.click(".style[data-name=grey_keeps]")
            assert page.is_checked("#colors")  # its file says keep them
            page.click(".style[data-name=grey]")
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 10", timeout=30_000)
            _wait_spread(page, coloured=False)
            page.click("label:has(#colors)")
            assert page.is_checked("#colors")
            _wait_spread(page, coloured=True)
            page.click(".style[data-name=grey]")  # choosing a style again: its own colours
            assert not page.is_checked("#colors")
            _wait_spread(page, coloured=False)
            page.click("#stop")
            assert not errors, errors
        finally:
            browser.close()
