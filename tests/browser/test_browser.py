"""Real browser: headless Chromium (Debian package) driven by playwright against `stylecast serve`.

Chromium's fake camera plays a y4m clip generated here (the embedded sample), so the mirror test
can compare what the page shows (camera preview vs. returned stream) with a known stylizer:
colour inversion maps mean colour m to 255 - m. Install with tests/browser/install.sh.
"""
from __future__ import annotations

import asyncio
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("chromium not installed (run tests/browser/install.sh)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (run tests/browser/install.sh)")

H, W = 240, 320


def factory(name: str):
    if name == "invert":
        return lambda x: 1.0 - x
    return lambda x: x.clone()


def write_y4m(path: Path, frames: np.ndarray, fps: int = 30) -> None:
    import cv2

    n, h, w, _ = frames.shape
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for fr in frames:
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(fr, cv2.COLOR_RGB2YUV_I420).tobytes())


class ServerThread:
    """The real server (create_app + AppRunner) on its own loop in a thread, on a free port."""

    def __init__(self, config, factory, styles) -> None:
        self.config, self.factory, self.styles = config, factory, styles
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0
        self.app = None

    def _run(self) -> None:
        from aiohttp import web

        from stream.server.app import create_app

        asyncio.set_event_loop(self.loop)
        self.app = create_app(self.config, self.factory, styles=self.styles)
        runner = web.AppRunner(self.app, access_log=None)
        self.loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.port = runner.addresses[0][1]
        self.runner = runner
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.close()

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        assert self.ready.wait(30), "server did not start"
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


MEAN_RGB_JS = """(id) => {
  const v = document.getElementById(id);
  const c = document.createElement('canvas'); c.width = 64; c.height = 48;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48);
  const d = g.getImageData(0, 0, 64, 48).data; const m = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; }
  return m.map((x) => x / (d.length / 4));
}"""


def open_page(browser, port: int, ready: str):  # -> (page, errors)
    """The server's page in a new tab, once ``ready`` (a selector) shows; JS errors collect in
    the returned list (tests assert it stays empty)."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"http://127.0.0.1:{port}/", timeout=20_000)
    page.wait_for_selector(ready, timeout=10_000)
    return page, errors


def launch_chromium(p, tmp_path: Path, clip: Path):
    """Headless Chromium whose fake camera plays ``clip`` (y4m), media permissions granted."""
    args = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
    return p.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=args,
        viewport={"width": 1280, "height": 800})


def test_mirror_and_broadcast_in_headless_chromium(tmp_path):
    from models.io.sample import sample_frames
    from stream.server.config import ServerConfig

    clip = tmp_path / "clip.y4m"
    write_y4m(clip, sample_frames(n=24, size=(H, W)))
    cfg = ServerConfig(style="invert", temporal=False, source="sample", source_size=(H, W), token="t0ken")
    with ServerThread(cfg, factory, ["invert", "identity"]) as srv, sync_api.sync_playwright() as p:
        browser = launch_chromium(p, tmp_path, clip)
        try:
            page, errors = open_page(browser, srv.port, ".style[data-name=identity]")

            # 1. Mirror: camera -> server -> page; inverted colours, switchable live
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 15", timeout=30_000)
            local = np.array(page.evaluate(MEAN_RGB_JS, "local"))
            remote = np.array(page.evaluate(MEAN_RGB_JS, "remote"))
            assert remote.mean() > 20, f"remote video is black: {remote}"
            assert np.abs(remote - (255 - local)).max() < 30, (local, remote)
            page.click(".style[data-name=identity]")
            page.wait_for_function(
                "() => { const s = window.stylecast; s.mark = s.mark || s.frames; return s.frames > s.mark + 10; }",
                timeout=20_000)
            local = np.array(page.evaluate(MEAN_RGB_JS, "local"))
            remote = np.array(page.evaluate(MEAN_RGB_JS, "remote"))
            assert np.abs(remote - local).max() < 30, (local, remote)
            page.wait_for_function("document.getElementById('s-lat').textContent.endsWith('ms')", timeout=10_000)
            page.click("#stop")

            # 2. Broadcast viewer: no token, decoded frames from the server's sample source
            page.click("#tab-view")
            page.evaluate("window.stylecast.frames = 0")
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 15", timeout=30_000)
            remote = np.array(page.evaluate(MEAN_RGB_JS, "remote"))
            assert remote.mean() > 20, f"broadcast video is black: {remote}"
            stats = page.evaluate("fetch('/stats').then(r => r.json())")
            assert stats["viewers"] == 1 and stats["broadcast"]["style"] == "invert"
            assert not errors, errors
        finally:
            browser.close()
