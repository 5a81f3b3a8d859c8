"""torch.compile (TorchInductor) backend with static shapes, optionally CUDA graphs.

One compiled module per stream resolution and batch (``dynamic=False``): Inductor specialises
kernels to the exact shape, and CUDA graphs (mode ``"reduce-overhead"``) need static shapes.
Modes (torch.compile docs): ``"reduce-overhead"`` = Inductor + CUDA graphs (removes per-kernel
launch cost, the bottleneck of a ~40-kernel net at 720p); ``"max-autotune-no-cudagraphs"`` =
Triton/GEMM autotuning without graphs (slower to build, no graph-memory pool);
``"max-autotune"`` = both.
With CUDA graphs the output lives in a graph-owned buffer that the next replay overwrites, so
each call marks a new step (``torch.compiler.cudagraph_mark_step_begin``) and clones the output.
"""
from __future__ import annotations

import importlib.util
import logging
from typing import Callable

import torch
from torch import Tensor, nn

from models.backends.base import COMPILE_MODES, Backend, BackendSpec, BackendUnavailable
from models.backends.eager import prepare
from models.backends.parity import parity_input

Compiler = Callable[..., Callable[[Tensor], Tensor]]
log = logging.getLogger("stylecast.backends")

# Every TransformerNet instance shares one forward code object, so dynamo's per-code recompile
# limit (default 8) is shared by all resolutions/batches in a process; past it dynamo silently
# runs eager. Raise it so a server with many stream resolutions stays compiled.
_RECOMPILE_LIMIT = 64


def _raise_recompile_limit() -> None:
    import torch._dynamo.config as cfg

    for attr in ("recompile_limit", "cache_size_limit"):
        if hasattr(cfg, attr) and getattr(cfg, attr) < _RECOMPILE_LIMIT:
            setattr(cfg, attr, _RECOMPILE_LIMIT)


# Inductor's C++ wrapper on the CPU: the whole forward runs in one C++ call that releases the GIL.
# With the default Python wrapper every generated kernel (norms, pads, upsampling: ~15-20 ms of
# the light net's ~60 ms at 480x360) is called with the GIL held, so the live loop's finisher
# thread, blending the previous frame meanwhile, stalls on it; the wrapper also drops the Python
# glue between kernels (2-core VM, one thread: 50-56 vs 58 ms CPU per call; docs/bench/render_scale.md §10).
CPU_OPTIONS = (("cpp_wrapper", True),)


def uses_cudagraphs(mode: str) -> bool:
    return mode in ("reduce-overhead", "max-autotune")


def build(model: nn.Module, spec: BackendSpec, *, compiler: Compiler | None = None) -> Backend:
    if spec.compile_mode not in COMPILE_MODES:
        raise ValueError(f"compile_mode: expected one of {COMPILE_MODES}, got {spec.compile_mode!r}")
    if spec.device.type == "cpu" and not spec.cpu_compile:
        raise BackendUnavailable("compile", "disabled on CPU (Inductor's C++ build is slow and gains little here; opt in with cpu_compile)")
    if spec.device.type == "cuda" and compiler is None and importlib.util.find_spec("triton") is None:
        raise BackendUnavailable("compile", "Inductor on CUDA needs triton, which is not installed")
    module = prepare(model, spec)
    cudagraphs = spec.device.type == "cuda" and uses_cudagraphs(spec.compile_mode)
    _raise_recompile_limit()
    compile_fn = compiler or torch.compile
    kwargs: dict = {"mode": None if spec.compile_mode == "default" else spec.compile_mode,
                    "fullgraph": True, "dynamic": False}
    notes = ""
    if spec.device.type == "cpu" and kwargs["mode"] is None:
        try:  # torch.compile takes mode or options, not both
            step = _compile_and_warm(module, spec, compile_fn, {**kwargs, "options": dict(CPU_OPTIONS)}, cudagraphs)
        except BackendUnavailable as exc:
            # The C++ wrapper is the newer code path of Inductor: if it fails here, the Python one still serves.
            notes = f"C++ wrapper failed ({exc.reason[:200]}); Python wrapper"
            log.warning("compile: %s", notes)
            step = _compile_and_warm(module, spec, compile_fn, kwargs, cudagraphs)
    else:
        step = _compile_and_warm(module, spec, compile_fn, kwargs, cudagraphs)
    return Backend(kind="compile", name=f"compile[{spec.compile_mode},{spec.tag()}]", fn=step, spec=spec, static=True,
                   notes=notes)


def _compile_and_warm(module: nn.Module, spec: BackendSpec, compile_fn: Compiler, kwargs: dict,
                      cudagraphs: bool) -> Callable[[Tensor], Tensor]:
    try:
        compiled = compile_fn(module, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any compiler failure means "not available"
        raise BackendUnavailable("compile", f"torch.compile failed: {type(exc).__name__}: {exc}") from exc

    def step(x: Tensor) -> Tensor:
        if cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
            return compiled(x).clone()
        return compiled(x)

    # Compilation happens on the first call; CUDA graph trees record on a later warm-up call.
    example = parity_input(spec.batch, spec.height, spec.width, device=spec.device).to(spec.dtype)
    if spec.channels_last:
        example = example.contiguous(memory_format=torch.channels_last)
    try:
        with torch.no_grad():
            for _ in range(3 if cudagraphs else 1):
                step(example)
        if spec.device.type == "cuda":
            torch.cuda.synchronize(spec.device)
    except Exception as exc:  # noqa: BLE001
        raise BackendUnavailable("compile", f"compiled module failed on warm-up: {type(exc).__name__}: {exc}") from exc
    return step
