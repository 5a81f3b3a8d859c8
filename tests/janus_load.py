"""Shared by the Janus load test and bench/webrtc_janus.py: run `stylecast serve` as its own process
(so its CPU can be read from /proc alone) with a cheap injected stylizer, and wait for it."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = (0.9, 0.1, 0.5)  # the stylizer paints this colour

SERVER = """
import sys, torch
torch.set_num_threads(1)
from stream.server.config import ServerConfig
from stream.server.runner import serve
port, h, w, fps, janus = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
c = torch.tensor(%r).view(1, 3, 1, 1)
cfg = ServerConfig(port=port, style="marker", temporal=False, source="sample", source_size=(h, w), source_fps=fps,
                   sample_frames=8, max_peers=64, janus_url=janus or None, token="tok")
sys.exit(serve(cfg, stylizer_factory=lambda name: (lambda x: torch.zeros_like(x) + c.to(x)), styles=["marker"],
               announce=lambda s: None))
""" % (MARKER,)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stats(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        return json.load(r)


def start_server(*, size: tuple[int, int], fps: float, janus_url: str | None, timeout: float = 90.0,
                 ready=None) -> tuple[subprocess.Popen, int]:
    """Start the server; return once ``ready(stats)`` holds (default: it answers)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(size[0]), str(size[1]), str(fps),
                             janus_url or ""], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read()[-3000:]}")
        if time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError(f"server not ready within {timeout} s")
        try:
            if ready is None or ready(stats(port)):
                return proc, port
        except OSError:
            pass
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
            return out
        except subprocess.TimeoutExpired:
            proc.kill()
    out, _ = proc.communicate()
    return out
