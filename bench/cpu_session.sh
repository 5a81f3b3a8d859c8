#!/usr/bin/env bash
# The CPU speed figures of issue #16 in one go, on an otherwise idle machine (2-core VM):
# the live CLI at 640x480 (bench/live_cpu.py), the server's compute path for one 640x480 mirror
# peer (bench/serve_engine.py, eager baseline and compiled), and one real WebRTC mirror peer
# through the in-process server (bench/webrtc_latency.py --part mirror).
#   bash bench/cpu_session.sh 2>&1 | tee /tmp/cpu_session.log
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
FRAMES=${FRAMES:-150}
echo "# cpu_session $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg)"
$PY bench/live_cpu.py --frames "$FRAMES" --auto-frames 500
for backend in eager compile; do
  echo "## serve_engine --backend $backend"
  $PY bench/serve_engine.py --device cpu --size 640x480 --peers 1 --seconds 15 --style starry_night --backend "$backend"
done
echo "## webrtc mirror peer"
$PY bench/webrtc_latency.py --part mirror --sizes 640x480 --seconds 15
echo "# done $(date -u '+%H:%M UTC'), load $(cut -d' ' -f1 /proc/loadavg)"
