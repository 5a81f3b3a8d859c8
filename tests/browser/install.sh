#!/usr/bin/env bash
# Installs what tests/browser/ needs: Debian's chromium (+ driver), the playwright *client* and
# the npm WHIP/WHEP clients.
# Playwright drives the system chromium via executable_path; we never run `playwright install`
# (it downloads browsers from the internet, which CI does not allow).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-.venv/bin/python}"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
if ! command -v chromium >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null
fi
"$PY" -m pip install -q "playwright>=1.40"
# third-party WHIP/WHEP browser clients (npm `whip-whep`, pinned by package-lock.json) for
# test_whip_browser.py; the test skips without them
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm >/dev/null
fi
npm ci --prefix tests/browser/npm --no-audit --no-fund --silent
chromium --version
"$PY" -c "import playwright; print('playwright client ok')"
