"""`stylecast serve` lifecycle: graceful shutdown on SIGTERM/SIGINT, CLI user errors."""
from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import sys
from stream.server.config import ServerConfig
from stream.server.runner import serve
cfg = ServerConfig(port=int(sys.argv[1]), style="invert", source="sample", source_size=(48, 64),
                   record_to=sys.argv[2], token="tok")
sys.exit(serve(cfg, stylizer_factory=lambda name: (lambda x: 1.0 - x), styles=["invert"]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sigterm_shuts_down_gracefully_and_finalizes_recording(tmp_path):
    # SIGINT goes through the same loop.add_signal_handler path (runner.serve_async); one
    # subprocess keeps this test cheap.
    sig = signal.SIGTERM
    port, rec = free_port(), tmp_path / "rec.mp4"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(rec)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # bounded poll until the server answers and has recorded a few frames
            assert proc.poll() is None, proc.stdout.read()
            assert time.monotonic() < deadline, "server did not come up within 60 s"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=2) as r:
                    import json

                    st = json.load(r)
                if st["broadcast"]["recording"]["frames"] >= 5:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "control token:   tok" in out and "shutting down" in out, out
    assert "Traceback" not in out, out
    assert rec.is_file() and rec.stat().st_size > 0  # finalized and renamed into place
    assert not list(tmp_path.glob(".*part*")), list(tmp_path.iterdir())


def test_cli_reports_user_errors_in_one_line(tmp_path, capsys):
    from models.cli import main

    assert main(["serve", "--size", "12"]) == 2
    assert "expected WxH" in capsys.readouterr().err
    assert main(["serve", "--record-to", str(tmp_path / "x.mp4")]) == 2
    assert "--source" in capsys.readouterr().err
    assert main(["serve", "--strength", "3", "--source", "sample"]) == 2
    err = capsys.readouterr().err
    assert "strength must be in [0,1], got 3" in err and "Traceback" not in err


def test_bad_broadcast_sources_are_user_errors(tmp_path):
    from models.errors import UserError
    from stream.server.sources import open_source

    with pytest.raises(UserError, match="missing.mp4"):
        open_source(str(tmp_path / "missing.mp4"), size=(48, 64), fps=30, loop=True)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all")
    with pytest.raises(UserError, match="junk.mp4"):
        open_source(str(junk), size=(48, 64), fps=30, loop=True)
    with pytest.raises(UserError, match="webcam:N"):
        open_source("webcam:x", size=(48, 64), fps=30, loop=True)
