"""Screenshot of the page (docs/webrtc_page.png): broadcast of the demo photos with the
bundled styles, a multi-style member selected and blended with another member.

What a user sees after ``stylecast serve``: the style list comes from ``models.styles.registry`` (the
eight single-style networks and the members of the bundled multi-style network), so the blend
box is visible. Needs chromium + playwright (tests/browser/install.sh).
    .venv/bin/python bench/webrtc_screenshot.py [--out docs/webrtc_page.png] [--blend 0.4]
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "webrtc_page.png")
    ap.add_argument("--style", default="multistyle:starry_night", help="broadcast style (a registry spec)")
    ap.add_argument("--blend-with", default="wave", help="member of the same multi-style network")
    ap.add_argument("--blend", type=float, default=0.4, help="blend amount shown on the slider")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from stream.server.config import ServerConfig
    from tests.browser.test_browser import ServerThread

    cfg = ServerConfig(style=args.style, temporal=True, source="photos", source_size=(240, 320), source_fps=10)
    with ServerThread(cfg, None, None) as srv:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                  args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                        "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = b.new_page(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{srv.port}/#view&token={cfg.token}")
            page.wait_for_function("[...document.querySelectorAll('.style img')].every(i => i.complete && i.naturalWidth > 0)",
                                   timeout=180_000)
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 8", timeout=120_000)
            if page.is_visible("#blend-box"):
                page.select_option("#blend-with", args.blend_with)
                page.locator("#blend").fill(str(args.blend))
                page.wait_for_function("document.getElementById('s-style').textContent.includes('%')", timeout=30_000)
                page.wait_for_function("window.stylecast.frames > 30", timeout=120_000)  # frames in the new mix
            page.wait_for_function("document.getElementById('s-lat').textContent.endsWith('ms')", timeout=30_000)
            try:  # the fps chip averages 2 s of decoded frames; give it a chance to show a rate
                page.wait_for_function("parseFloat(document.getElementById('s-fps').textContent) > 0", timeout=30_000)
            except Exception:  # noqa: BLE001 - a slow machine still gets its screenshot
                pass
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            b.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
