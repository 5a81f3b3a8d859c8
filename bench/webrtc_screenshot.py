"""Screenshot of the page (docs/webrtc_page.png): broadcast of the embedded sample, real style nets.

Uses the six pretrained reference nets from ../shared (research use; never shipped) so the
thumbnails and the video show real styles. Needs chromium + playwright (tests/browser/install.sh).
    .venv/bin/python bench/webrtc_screenshot.py [--out docs/webrtc_page.png]
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
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    args = ap.parse_args()
    sys.path.insert(0, str(args.shared / "tools"))
    import reference_nets as rn
    from playwright.sync_api import sync_playwright

    from stream.server.config import ServerConfig
    from tests.browser.test_browser import ServerThread

    weights = args.shared / "weights" / "fast_style"
    names = ["wave", "udnie", "la_muse", "rain_princess", "scream", "wreck"]

    def factory(name: str):
        return rn.load_style_net(str(weights / f"{name}.safetensors")).eval()

    cfg = ServerConfig(style="wave", temporal=False, source="sample", source_size=(240, 320), source_fps=10)
    with ServerThread(cfg, factory, names) as srv:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                                  args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                        "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = b.new_page(viewport={"width": 1280, "height": 760}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{srv.port}/#view&token={cfg.token}")
            page.wait_for_function("[...document.querySelectorAll('.style img')].every(i => i.complete && i.naturalWidth > 0)",
                                   timeout=120_000)
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 8", timeout=120_000)
            page.wait_for_function("document.getElementById('s-lat').textContent.endsWith('ms')", timeout=30_000)
            try:  # the fps chip averages 2 s of decoded frames; give it a chance to show a rate
                page.wait_for_function("parseFloat(document.getElementById('s-fps').textContent) > 0", timeout=30_000)
            except Exception:  # noqa: BLE001 - a slow machine still gets its screenshot
                pass
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            b.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
