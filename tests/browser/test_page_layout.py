"""The page in headless Chromium at phone and desktop widths (issue 20): one tile per distinct
style (a multi-style network is one blendable entry, not a second copy of the names), whole
names, no horizontal overflow at 390 px, a favicon, honest chips (never "0×0"; cleared on Stop),
and blending from a single-style tile switches to the network's member."""
from __future__ import annotations

import urllib.request

import numpy as np
import pytest

from tests.browser.test_browser import (H, MEAN_RGB_JS, W, ServerThread, launch_chromium, open_page, sync_api,
                                       write_y4m)
from tests.multistyle_factory import DARK, LIGHT

pytestmark = pytest.mark.browser
TOL = 15  # VP8 + browser scaling on a flat grey frame
# As bundled: single-style networks, and a multi-style network whose members share their names.
MEMBERS = ("dark", "seaport_claude_lorrain_long_name")


def _styles():
    from stream.server.styles import StyleInfo

    return [StyleInfo("dark", "single dark"), StyleInfo("seaport_claude_lorrain_long_name", "single"),
            StyleInfo("invert", "single"),
            StyleInfo("toy:dark", "member", "toy", MEMBERS), StyleInfo("toy:seaport_claude_lorrain_long_name",
                                                                       "member", "toy", MEMBERS)]


def _factory():
    from models.styles.registry import stylizer_for
    from tests.multistyle_factory import grey_net

    net = grey_net()
    net.style_names = MEMBERS  # grey_net's second style ("light") under the long name

    def factory(name: str):
        if name == "invert":
            return lambda x: 1.0 - x
        if name.startswith("toy:"):
            return stylizer_for(net, name.partition(":")[2])
        return lambda x: x * 0 + DARK / 255  # the single "dark" (and the long one): flat dark grey

    return factory


TILES_JS = """() => [...document.querySelectorAll('.style')].map(b => ({
  name: b.dataset.name, label: b.querySelector('span').textContent,
  cut: b.querySelector('span').scrollWidth > b.querySelector('span').clientWidth + 1
       || b.querySelector('span').scrollHeight > b.querySelector('span').clientHeight + 1}))"""
CHIPS_JS = "() => ['s-fps', 's-lat', 's-res'].map(id => document.getElementById(id).textContent)"


def _wait_grey(page, level: float, timeout: int = 30_000) -> None:
    js = f"""() => {{ const f = ({MEAN_RGB_JS}); const m = f('remote');
        return Math.abs((m[0] + m[1] + m[2]) / 3 - {level}) < {TOL}; }}"""
    page.wait_for_function(js, timeout=timeout)


def test_page_layout_tiles_overflow_favicon_chips(tmp_path):
    from models.io.sample import sample_frames
    from stream.server.config import ServerConfig

    clip = tmp_path / "clip.y4m"
    write_y4m(clip, sample_frames(n=12, size=(H, W)))
    cfg = ServerConfig(style="invert", temporal=False, source="sample", source_size=(H, W), token="t0ken")
    with ServerThread(cfg, _factory(), _styles()) as srv, sync_api.sync_playwright() as p:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/favicon.ico", timeout=10) as r:
            body = r.read()
            assert r.status == 200 and body[:4] == b"\x00\x00\x01\x00" and len(body) > 100  # an ICO file
        browser = launch_chromium(p, tmp_path, clip)
        try:
            page, errors = open_page(browser, srv.port, ".style")
            tiles = page.evaluate(TILES_JS)
            distinct = {"dark", "seaport_claude_lorrain_long_name", "invert"}
            assert len(tiles) == len(distinct), tiles
            assert {t["label"].replace(" ", "_") for t in tiles} == distinct
            assert not [t for t in tiles if t["cut"]], tiles  # whole names, no ellipsis
            # a name with a single-style network picks it; the network stays one blend entry
            assert {t["name"] for t in tiles} == {"dark", "seaport_claude_lorrain_long_name", "invert"}

            for width in (390, 1280):
                page.set_viewport_size({"width": width, "height": 844})
                page.wait_for_timeout(200)
                over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert over <= 0, f"{over} px of horizontal overflow at {width} px"
                page.screenshot(path=str(tmp_path / f"page_{width}.png"), full_page=True)

            # chips: "–" until frames flow, real figures then, "–" again after Stop
            assert page.evaluate(CHIPS_JS) == ["–", "–", "–"]
            page.click(".style[data-name=dark]")
            assert page.is_visible("#blend-box")  # "dark" is also a member of the network: blendable
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 10", timeout=30_000)
            page.wait_for_function("document.getElementById('s-res').textContent !== '–'", timeout=15_000)
            chips = page.evaluate(CHIPS_JS)
            assert chips[2] == f"{W}×{H}" and "0×0" not in chips and chips[0] != "0.0", chips
            assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0

            # blending from the single "dark" tile switches to the member and blends on the server
            _wait_grey(page, DARK)
            page.locator("#blend").fill("1")
            _wait_grey(page, LIGHT)
            assert page.evaluate("window.stylecast.style") == "toy:dark"
            assert page.is_visible(".style.selected[data-name=dark]")  # still the same tile
            page.click("#stop")
            assert page.evaluate(CHIPS_JS) == ["–", "–", "–"]
            assert page.evaluate("document.getElementById('server-stats').textContent") == ""
            assert not errors, errors
        finally:
            browser.close()
