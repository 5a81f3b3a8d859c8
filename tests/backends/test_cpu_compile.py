"""`--backend auto` on a CPU: the network is compiled (bf16 where the CPU computes it natively)
on a background thread while eager serves, with a real Inductor C++ build (no injected compiler)."""
from __future__ import annotations

import shutil

import pytest
import torch

from models.backends import background
from models.backends.accelerated import accelerate
from models.backends.background import BackgroundCompiled, compile_dtype, cpu_compile_enabled
from models.backends.parity import parity_input, psnr
from models.backends.synthetic import synthetic_style_net
from stream.server.app import server_backend


def test_switch_and_dtype_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    net = synthetic_style_net("light")
    monkeypatch.setenv("STYLECAST_CPU_COMPILE", "0")
    assert not cpu_compile_enabled()
    assert accelerate(net, kind="auto", device="cpu") is net
    assert server_backend("auto", "cpu") == "eager" and server_backend("auto", "cuda") == "compile"
    monkeypatch.setenv("STYLECAST_CPU_COMPILE", "1")
    assert server_backend("auto", "cpu") == "compile" and server_backend("eager", "cpu") == "eager"
    monkeypatch.setattr(background, "cpu_has_fast_bf16", lambda: True)
    assert compile_dtype("cpu") == torch.bfloat16
    monkeypatch.setattr(background, "cpu_has_fast_bf16", lambda: False)
    assert compile_dtype("cpu") == torch.float32
    assert compile_dtype("cuda") == torch.float16
    assert accelerate(net, kind="eager", device="cpu") is net


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="Inductor's CPU backend needs a C++ compiler")
def test_real_background_build_on_cpu(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("STYLECAST_CPU_COMPILE", "1")
    monkeypatch.setenv("STYLECAST_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    net = synthetic_style_net("light", seed=3)
    lines: list[str] = []
    fast = accelerate(net, kind="auto", device="cpu", report=lines.append)
    assert isinstance(fast, BackgroundCompiled)
    x = parity_input(1, 64, 96, seed=4)  # bucket 64x96: built as is, no padding
    with torch.no_grad():
        want = net(x)
        first = fast(x)  # queues the build; eager serves this frame
        assert torch.equal(first, want)
        assert fast.wait_idle(timeout=300), "background build did not finish"
        got = fast(x)
    tag = "bfloat16" if compile_dtype("cpu") == torch.bfloat16 else "float32"
    state = fast.backend_of(tuple(x.shape))
    assert state.startswith("compile[") and tag in state, (state, lines)
    assert ("split_convs" in state) == (tag == "bfloat16"), state  # the row-split last layer (bf16 build)
    assert got.dtype == x.dtype and got.shape == x.shape
    # bf16: the parity bar of models.backends.parity (>= 32 dB); fp32: numerically the same net
    assert psnr(got, want) >= (32.0 if tag == "bfloat16" else 45.0)
    assert "1x3x64x96: compile[" in fast.describe()
    assert any(p.name.startswith("compile-") for p in tmp_path.iterdir())  # cache kept for a restart


def test_exit_waits_for_a_build_in_progress(tmp_path) -> None:
    """A process that ends while a background build runs must not kill it mid-build (a daemon
    thread inside torch.compile at exit aborted `stylecast live --max-frames 3`, rc 134): the exit
    hook finishes it, says so, and the process exits 0 with the build's result written."""
    import subprocess
    import sys
    from pathlib import Path

    done = tmp_path / "built"
    script = f"""
import time, torch
from pathlib import Path
from models.backends.background import BackgroundCompiled
from models.backends.synthetic import synthetic_style_net

def slow(model, *, height, width, batch):
    time.sleep(1.5)
    Path({str(done)!r}).write_text("ok")
    return model

bc = BackgroundCompiled(synthetic_style_net("light", seed=0).eval(), device="cpu", build=slow)
with torch.no_grad():
    bc(torch.rand(1, 3, 32, 32))  # queues the build; eager serves
print("main done", flush=True)
"""
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=root,
                       env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert p.returncode == 0, p.stderr[-2000:]
    assert "main done" in p.stdout and "finishing a background compile before exiting" in p.stderr
    assert done.read_text() == "ok"
