"""The CUDA gate: with STYLECAST_REQUIRE_CUDA=1, `pytest -m cuda` on a machine where torch sees no
GPU must fail (exit non-zero), not report skips or xfails and exit 0. Runs pytest in a subprocess
with the GPU hidden (CUDA_VISIBLE_DEVICES=""), so it means the same on a GPU machine."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def _pytest(require: bool) -> subprocess.CompletedProcess:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", PYTHONPATH=str(ROOT))
    env.pop("STYLECAST_REQUIRE_CUDA", None)
    if require:
        env["STYLECAST_REQUIRE_CUDA"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda",
                           "tests/test_cuda_gate_probe.py"], capture_output=True, text=True, env=env,
                          cwd=str(ROOT), timeout=120)


def test_required_cuda_without_gpu_fails_the_run():
    r = _pytest(require=True)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "STYLECAST_REQUIRE_CUDA=1 but torch sees no CUDA GPU" in r.stdout
    assert "1 error" in r.stdout or "1 failed" in r.stdout


def test_without_the_requirement_cuda_tests_are_skipped():
    r = _pytest(require=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 skipped" in r.stdout
