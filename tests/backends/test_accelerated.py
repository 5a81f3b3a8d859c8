"""models.backends.accelerated: the applications' stylizer through a backend per input shape,
falling back to the plain module on any build or call failure; `stylecast live --backend`.
CPU only: torch.compile is injected (an identity compiler), as in tests/backends/test_backends.py."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from models.backends import BackendUnavailable, build_backend, compiled
from models.backends.accelerated import Accelerated, accelerate
from models.backends.parity import parity_input
from models.backends.synthetic import synthetic_style_net


def _identity(module: nn.Module, **kw: object) -> nn.Module:
    return module


def _no_trt(model: nn.Module, spec: object) -> None:
    raise BackendUnavailable("tensorrt", "torch_tensorrt not installed")


def _compiling_build(compiler=_identity):  # build_backend as a CPU machine with a compiler would run it
    return partial(build_backend, cpu_compile=True,
                   builders={"tensorrt": _no_trt, "compile": partial(compiled.build, compiler=compiler)})


@pytest.fixture(scope="module")
def net() -> nn.Module:
    return synthetic_style_net("light", seed=2).eval()


def test_accelerate_leaves_what_it_cannot_help_unchanged(net: nn.Module) -> None:
    assert accelerate(net, kind="eager", device="cpu") is net
    assert accelerate(net, kind="auto", device="cpu") is net  # STYLECAST_CPU_COMPILE=0 (conftest): eager

    class Mixed(nn.Module):  # a multi-style network: its blend is live module state
        def set_mix(self, mix: dict) -> None: ...

    lines: list[str] = []
    mixed = Mixed()
    assert accelerate(mixed, kind="compile", device="cpu", report=lines.append) is mixed
    assert "multi-style" in lines[0]
    plain = lambda x: x  # noqa: E731 - not a module: nothing to compile
    assert accelerate(plain, kind="compile", device="cpu") is plain
    assert isinstance(accelerate(net, kind="compile", device="cpu"), Accelerated)
    with pytest.raises(ValueError, match="expected one of"):
        accelerate(net, kind="fast", device="cpu")


def test_one_backend_per_shape_same_output_attributes_forwarded(net: nn.Module) -> None:
    lines: list[str] = []
    acc = Accelerated(net, kind="compile", device="cpu", report=lines.append, build=_compiling_build(), dtype=torch.float32)
    x1, x2 = parity_input(1, 32, 48, seed=1), parity_input(1, 24, 40, seed=2)
    with torch.no_grad():
        for x in (x1, x1, x2, x1):
            torch.testing.assert_close(acc(x), net(x), rtol=0, atol=1e-6)
    assert sorted(acc._backends) == [(1, 24, 40), (1, 32, 48)]  # built once per shape
    assert all(b.kind == "compile" for b in acc._backends.values()) and acc.failed is None
    assert sum("building the compile backend" in line for line in lines) == 2
    assert "compile[" in acc.describe()
    assert acc.training is False and acc.model is net  # nn.Module attributes come from the model


def test_failed_build_serves_the_plain_module(net: nn.Module) -> None:
    def broken(module: nn.Module, **kw: object) -> nn.Module:
        raise RuntimeError("inductor exploded")

    lines: list[str] = []
    acc = Accelerated(net, kind="compile", device="cpu", report=lines.append, build=_compiling_build(broken), dtype=torch.float32)
    x = parity_input(1, 32, 48, seed=3)
    with torch.no_grad():
        torch.testing.assert_close(acc(x), net(x), rtol=0, atol=0)
        torch.testing.assert_close(acc(x), net(x), rtol=0, atol=0)
    assert acc.failed is not None and "inductor exploded" in acc.failed
    assert sum("could not be built" in line for line in lines) == 1  # not retried every frame
    assert acc.describe().startswith("eager (plain module)")


def test_a_backend_that_fails_on_a_frame_is_dropped(net: nn.Module) -> None:
    calls = {"n": 0}

    class Flaky(nn.Module):  # what a compiled module that breaks after a while looks like
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls["n"] += 1
            if calls["n"] > 3:  # the build's parity check and a first frame pass
                raise AssertionError("cudagraph tree: called from another thread")
            return self.inner(x)

    lines: list[str] = []
    acc = Accelerated(net, kind="compile", device="cpu", report=lines.append, dtype=torch.float32,
                      build=_compiling_build(lambda m, **kw: Flaky(m)))
    x = parity_input(1, 32, 48, seed=4)
    with torch.no_grad():
        outs = [acc(x) for _ in range(4)]
    for out in outs:  # every frame delivered, before and after the failure
        torch.testing.assert_close(out, net(x), rtol=0, atol=1e-6)
    assert acc.failed is not None and "failed on a frame" in acc.failed and "another thread" in acc.failed
    assert any("plain module from now on" in line for line in lines)


def _has_cxx() -> bool:
    import shutil

    return any(shutil.which(c) for c in ("g++", "c++", "clang++"))


def test_cli_live_backend_option(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`--backend compile` on a CPU: built on the first frame (a real Inductor C++ build, bf16
    where the CPU has it), then every frame runs compiled and the CLI says so; `--backend eager`
    is the plain module. Without a C++ compiler the build fails, the run goes on eager and says so."""
    from models.styles.checkpoint import make_metadata, save_style
    from models.cli import main
    from models.io import open_video
    from models.nets.transformer import TransformerNet, preset

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    ckpt = save_style(tmp_path / "tiny.safetensors", TransformerNet(preset("light")), make_metadata(name="tiny", preset="light"))
    for backend in ("compile", "eager"):
        out = tmp_path / f"{backend}.mp4"
        rc = main(["live", "--source", "pattern", "--sink", str(out), "--max-frames", "3", "--max-side", "48",
                   "-s", str(ckpt), "--device", "cpu", "--backend", backend])
        err = capsys.readouterr()
        assert rc == 0
        with open_video(out) as r:
            assert len(list(r)) == 3
        if backend == "compile" and not _has_cxx():  # Inductor's CPU backend needs a C++ compiler
            assert "could not be built" in err.err and "backend: eager (plain module)" in err.out, err.out
        elif backend == "compile":
            assert "building the compile backend" in err.err
            assert "backend: 1x27x36: compile[default," in err.out, err.out  # 48x36 at render scale 0.75
        else:
            assert "backend:" not in err.out and "building" not in err.err


@pytest.mark.cuda
def test_cuda_live_compiles_on_its_model_thread_and_matches_eager(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a GPU: `stylecast live --backend auto` builds torch.compile (CUDA graphs) on the loop's
    model thread, passes parity and serves every frame from it (no fallback)."""
    import threading

    from models.styles.checkpoint import make_metadata, save_style
    from models.cli import main
    from models.nets.transformer import TransformerNet, preset

    net = synthetic_style_net("standard", seed=3).eval().cuda().half()
    acc = accelerate(net, kind="auto", device="cuda")
    assert isinstance(acc, Accelerated)
    x = parity_input(1, 256, 384, seed=5, device="cuda").half()
    outs: list[torch.Tensor] = []
    worker = threading.Thread(target=lambda: outs.extend(acc(x).float() for _ in range(5)))
    worker.start()
    worker.join(timeout=300)
    assert len(outs) == 5 and acc.failed is None, acc.describe()
    assert "compile[" in acc.describe() or "tensorrt[" in acc.describe()
    with torch.no_grad():
        ref = net.float()(x.float())
    assert all(float((o - ref).abs().mean()) < 0.01 for o in outs)

    ckpt = save_style(tmp_path / "tiny.safetensors", TransformerNet(preset("light")), make_metadata(name="tiny", preset="light"))
    rc = main(["live", "--source", "pattern", "--sink", "null", "--max-frames", "8",  # null: no PyAV on the GPU image
               "--max-side", "256", "-s", str(ckpt), "--device", "cuda"])
    out = capsys.readouterr()
    assert rc == 0 and "backend: 1x" in out.out and "plain module" not in out.out + out.err, out


def test_live_on_a_test_pattern_needs_no_pyav(tmp_path: Path) -> None:
    """The lent GPU machine has no PyAV: `stylecast live --source pattern --sink null` (what the
    CUDA test above runs there) must not import av. Subprocess in which importing av fails."""
    from tests.conftest import cli_without_pyav

    r = cli_without_pyav("live", "--source", "pattern", "--sink", "null", "--max-frames", "3", "--max-side", "48",
                         "--device", "cpu", "--backend", "eager")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "3 frames out" in r.stdout
