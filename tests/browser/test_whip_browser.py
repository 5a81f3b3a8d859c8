"""WHIP ingest and WHEP playback with third-party browser clients (npm `whip-whep`: medooze's
WHIPClient / WHEPClient, installed by tests/browser/install.sh) in headless Chromium: the fake
camera (a flat colour clip) is published over WHIP, stylized (colour inversion), and played back
over WHEP in the same page; stopping the WHIP client DELETEs the resource."""
from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from test_browser import MEAN_RGB_JS, ServerThread, factory, launch_chromium, write_y4m

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (run tests/browser/install.sh)")
CLIENTS = Path(__file__).parent / "npm" / "node_modules" / "whip-whep"
if not (CLIENTS / "whip.js").exists():
    pytest.skip("npm whip-whep not installed (run tests/browser/install.sh)", allow_module_level=True)

CAMERA = (200, 60, 40)
TOKEN = "t0ken"

PUBLISH_AND_VIEW = """async (token) => {
  const { WHIPClient } = await import('/__clients__/whip.js');
  const { WHEPClient } = await import('/__clients__/whep.js');
  const cam = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: false });
  const pub = new RTCPeerConnection();
  pub.addTransceiver(cam.getVideoTracks()[0], { direction: 'sendonly' });
  const whip = new WHIPClient();
  await whip.publish(pub, location.origin + '/whip', token);
  const view = new RTCPeerConnection();
  view.addTransceiver('video', { direction: 'recvonly' });
  view.ontrack = (ev) => { const v = document.getElementById('remote'); v.srcObject = new MediaStream([ev.track]); v.play(); };
  const whep = new WHEPClient();
  await whep.view(view, location.origin + '/whep');
  window.__whip = whip; window.__whep = whep;
  return [whip.resourceURL.pathname, whep.resourceURL.pathname];
}"""


def stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        return json.load(r)


def test_whip_publish_and_whep_play_with_npm_clients(tmp_path):
    from stream.server.config import ServerConfig

    clip = tmp_path / "flat.y4m"
    write_y4m(clip, np.broadcast_to(np.array(CAMERA, np.uint8), (4, 240, 320, 3)).copy())
    cfg = ServerConfig(style="invert", temporal=False, source="whip", token=TOKEN)
    with ServerThread(cfg, factory, ["invert", "identity"]) as srv, sync_api.sync_playwright() as p:
        browser = launch_chromium(p, tmp_path, clip)
        try:
            page, errors = open_page_with_clients(browser, srv.port)
            whip_path, whep_path = page.evaluate(PUBLISH_AND_VIEW, TOKEN)
            assert whip_path.startswith("/whip/") and whep_path.startswith("/whep/")
            want = 255 - np.array(CAMERA)
            page.wait_for_function(f"""() => {{ const v = document.getElementById('remote');
                if (!v.videoWidth) return false; const m = ({MEAN_RGB_JS})('remote');
                return [{want[0]}, {want[1]}, {want[2]}].every((x, i) => Math.abs(m[i] - x) < 30); }}""",
                                   timeout=40_000, polling=250)
            st = stats(srv.port)
            assert st["whip"]["publishing"] and st["whip"]["frames"] > 0 and st["viewers"] == 1
            page.evaluate("window.__whip.stop()")  # DELETE /whip/ID with the token
            page.wait_for_function(f"fetch('/stats').then(r => r.json()).then(s => !s.whip.publisher)", timeout=10_000)
            page.evaluate("window.__whep.stop()")
            page.wait_for_function("fetch('/stats').then(r => r.json()).then(s => s.viewers === 0)", timeout=10_000)
            assert not errors, errors
        finally:
            browser.close()


def open_page_with_clients(browser, port: int):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/__clients__/*.js", lambda route: route.fulfill(
        path=str(CLIENTS / route.request.url.rsplit("/", 1)[1]), content_type="text/javascript"))
    page.goto(f"http://127.0.0.1:{port}/", timeout=20_000)
    return page, errors
