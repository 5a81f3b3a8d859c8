"""Shared fixtures: paths to ../shared (skip cleanly when absent), device x dtype matrix."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

# `stylecast ARGS` in a fresh interpreter where importing PyAV fails, as on the lent GPU machine
# (which has torch and OpenCV but no av); it also asserts that nothing imported av.
_NO_PYAV = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'av' or name.startswith('av.'):\n"
    "            raise ImportError('PyAV blocked')\n"
    "sys.meta_path.insert(0, Block())\n"
    "from models.cli import main\n"
    "rc = main(sys.argv[1:])\n"
    "assert 'av' not in sys.modules\n"
    "sys.exit(rc)\n"
)


def cli_without_pyav(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _NO_PYAV, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=str(ROOT))
SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))
# `--backend auto` compiles the network in the background on a CPU (10-30 s of C++ build per
# size): most tests run a few frames, so they keep eager; this is inherited by subprocesses.
# tests/backends/test_cpu_compile.py runs the real CPU build with it switched on.
os.environ.setdefault("STYLECAST_CPU_COMPILE", "0")


def shared_path(*parts: str) -> Path:
    """Path under ../shared; skips the test with a clear reason when it is missing."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared test data not found: {p} (set STYLECAST_SHARED or place ../shared)")
    return p


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Run every test with one torch thread: test tensors are tiny, so OpenMP threads only add
    synchronisation, and on a loaded 2-core machine they collapse (measured 4x slower suites).
    Benchmarks set their own thread count."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _devices() -> list[str]:
    devs = ["cpu"]
    if torch.cuda.is_available():
        devs.append("cuda")
    return devs


# (device, dtype) combinations with the tolerance each gets in numerical comparisons.
TOL = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2, torch.float64: 1e-10}


def device_dtype_matrix() -> list[tuple[str, torch.dtype]]:
    out = [("cpu", torch.float32), ("cpu", torch.float64)]
    if torch.cuda.is_available():
        out += [("cuda", torch.float32), ("cuda", torch.float16)]
    return out


def _cuda_required() -> bool:
    return os.environ.get("STYLECAST_REQUIRE_CUDA") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available() or _cuda_required():
        return  # required without a GPU: pytest_runtest_setup fails them (an xfail would exit 0)
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "cuda" in item.keywords and _cuda_required() and not torch.cuda.is_available():
        pytest.fail("STYLECAST_REQUIRE_CUDA=1 but torch sees no CUDA GPU", pytrace=False)


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray (the machine's 2 CPUs, no GPU), started once per session for the tests
    that need it and shut down at the end; skips when Ray (stylecast[cluster]) is not installed."""
    ray = pytest.importorskip("ray")
    root = str(Path(__file__).resolve().parents[1])
    before = os.environ.get("PYTHONPATH")
    # Workers are started by the raylet with this environment: they must import this checkout.
    os.environ["PYTHONPATH"] = os.pathsep.join([root, *([before] if before else [])])
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
