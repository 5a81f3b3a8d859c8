"""Screenshots of the page at phone (390 px) and desktop (1280 px) widths with the bundled styles
(real `models.styles.registry` catalog, CPU) while a broadcast of the embedded sample plays, plus the
layout facts the browser test asserts: style tiles, horizontal overflow, chips, favicon.
Needs chromium + playwright (tests/browser/install.sh).
    .venv/bin/python bench/page_widths.py [--out-dir out/page] [--prefix after]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FACTS_JS = """() => ({
  tiles: document.querySelectorAll('.style').length,
  labels: [...document.querySelectorAll('.style span')].map(s => s.textContent),
  cut: [...document.querySelectorAll('.style span')].filter(s => s.scrollWidth > s.clientWidth + 1
        || s.scrollHeight > s.clientHeight + 1).map(s => s.textContent),
  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  chips: [...document.querySelectorAll('.chip')].map(c => c.textContent.trim()),
})"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", type=Path, default=ROOT / "out" / "page")
    ap.add_argument("--prefix", default="page")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from stream.server.config import ServerConfig
    from tests.browser.test_browser import ServerThread

    args.out_dir.mkdir(parents=True, exist_ok=True)
    cfg = ServerConfig(temporal=True, source="sample", source_size=(240, 320), source_fps=10)
    with ServerThread(cfg, None, None) as srv, sync_playwright() as p:
        b = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                    "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        for width, height in ((390, 844), (1280, 900)):
            page = b.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            fav = []
            page.on("response", lambda r: fav.append(r.status) if r.url.endswith("/favicon.ico") else None)
            page.goto(f"http://127.0.0.1:{srv.port}/#view")
            page.wait_for_function("[...document.querySelectorAll('.style img')].every(i => i.complete && i.naturalWidth > 0)",
                                   timeout=300_000)
            page.click("#start")
            page.wait_for_function("window.stylecast.frames > 0", timeout=120_000)
            early = page.evaluate(FACTS_JS)
            page.wait_for_function("window.stylecast.frames > 20", timeout=120_000)
            page.wait_for_timeout(2500)
            facts = page.evaluate(FACTS_JS)
            page.screenshot(path=str(args.out_dir / f"{args.prefix}_{width}.png"), full_page=True)
            page.click("#stop")
            page.wait_for_timeout(1500)
            stopped = page.evaluate(FACTS_JS)["chips"]
            print(json.dumps({"width": width, "favicon": fav, "early_chips": early["chips"], **facts,
                              "chips_after_stop": stopped}))
            page.close()
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
