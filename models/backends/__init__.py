"""Inference backends: one interface for eager PyTorch, torch.compile and Torch-TensorRT.

    backend = build_backend(model, kind="auto", device="cuda", height=720, width=1280)
    out = backend(frames)            # (N,3,H,W) RGB [0,1] -> same, backend.dtype on backend.device
    print(backend.describe())

``kind="auto"`` tries tensorrt > compile > eager and logs (logger ``stylecast.backends``) why each
one was skipped. Every backend except the fp32 eager reference must pass a parity check against
fp32 eager on the same device (:mod:`models.backends.parity`) before it serves frames; a failing
one is rejected (auto falls back; an explicit kind raises :class:`BackendUnavailable`).
"""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Mapping

import torch
from torch import Tensor, nn

from models.backends import compiled, eager, tensorrt
from models.backends.base import COMPILE_MODES, KINDS, Backend, BackendSpec, BackendUnavailable
from models.backends.parity import ParityReport, ParityThresholds, check_parity, parity_input
from models.contracts import default_dtype
from models.errors import one_line_reason

__all__ = [
    "AUTO_ORDER", "COMPILE_MODES", "KINDS", "Backend", "BackendSpec", "BackendUnavailable", "Builder",
    "ParityReport", "ParityThresholds", "build_backend", "default_split_convs", "eager_fallback_spec", "make_spec",
]

log = logging.getLogger("stylecast.backends")

Builder = Callable[[nn.Module, BackendSpec], Backend]
AUTO_ORDER = ("tensorrt", "compile", "eager")
SPLIT_CONVS_ENV = "STYLECAST_SPLIT_CONVS"  # "0": keep the stock last layer on a CPU (A/B, escape hatch)
DEFAULT_BUILDERS: Mapping[str, Builder] = {"eager": eager.build, "compile": compiled.build, "tensorrt": tensorrt.build}


def default_split_convs(device: torch.device, dtype: torch.dtype) -> bool:
    """Whether a build on ``device`` in ``dtype`` splits the last layer by default
    (models.backends.splitconv): a CPU in bf16/fp16, unless ``STYLECAST_SPLIT_CONVS=0``."""
    return (device.type == "cpu" and dtype in (torch.float16, torch.bfloat16)
            and os.environ.get(SPLIT_CONVS_ENV, "1").strip() != "0")


def make_spec(
    *,
    device: torch.device | str,
    height: int,
    width: int,
    batch: int = 1,
    dtype: torch.dtype | None = None,
    channels_last: bool | None = None,
    fast_norm: bool | None = None,
    split_convs: bool | None = None,
    compile_mode: str = "reduce-overhead",
    cpu_compile: bool = False,
    cache_dir: str | Path | None = None,
) -> BackendSpec:
    """Defaults: fp16 + channels_last + fp32-stats instance norm on CUDA; fp32 NCHW on CPU; in
    bf16/fp16 on a CPU also the row-split last layer (models.backends.splitconv; unmeasured on
    CUDA, so off there)."""
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    if height < 1 or width < 1 or batch < 1:
        raise ValueError(f"expected height, width, batch >= 1, got {height}, {width}, {batch}")
    dt = dtype or default_dtype(dev)
    low = dt in (torch.float16, torch.bfloat16)
    return BackendSpec(
        device=dev, height=height, width=width, batch=batch, dtype=dt,
        channels_last=low if channels_last is None else channels_last,
        fast_norm=low if fast_norm is None else fast_norm,
        split_convs=default_split_convs(dev, dt) if split_convs is None else split_convs,
        compile_mode=compile_mode, cpu_compile=cpu_compile,
        cache_dir=Path(cache_dir) if cache_dir else None,
    )


def eager_fallback_spec(spec: BackendSpec, *, channels_last: bool | None, fast_norm: bool | None) -> BackendSpec:
    """The spec ``auto`` gives eager when TensorRT and compile are out: on CUDA, NCHW with
    PyTorch's own instance norm unless the caller asked otherwise.

    Why: on an H100 (docs/bench/gpu.md §2, standard net, fp16, 1080p) eager NCHW took 22.2 ms,
    channels_last 28.0 ms and channels_last + the fp32-statistics norm 29.0 ms; both only pay
    inside a compiled graph, where the layout copies around each norm are fused away."""
    if spec.device.type != "cuda":
        return spec
    return replace(spec, channels_last=False if channels_last is None else spec.channels_last,
                   fast_norm=False if fast_norm is None else spec.fast_norm)


def _reason(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, BackendUnavailable) else one_line_reason(exc, with_type=True)


def build_backend(
    model: nn.Module,
    *,
    kind: str = "auto",
    device: torch.device | str = "cpu",
    height: int,
    width: int,
    batch: int = 1,
    dtype: torch.dtype | None = None,
    cache_dir: str | Path | None = None,
    channels_last: bool | None = None,
    fast_norm: bool | None = None,
    split_convs: bool | None = None,
    compile_mode: str = "reduce-overhead",
    cpu_compile: bool = False,
    parity: bool = True,
    sample: Tensor | None = None,
    builders: Mapping[str, Builder] | None = None,
) -> Backend:
    """Build (and parity-check) a backend for ``model`` at a fixed stream resolution.

    ``builders`` overrides how each kind is built (dependency injection for tests and
    experiments). ``sample`` is the parity input ``(batch,3,H,W)``; default: a deterministic
    image-like pattern. ``parity=False`` skips the check (benchmarks that report it themselves).
    """
    if kind != "auto" and kind not in KINDS:
        raise ValueError(f"kind: expected 'auto' or one of {KINDS}, got {kind!r}")
    spec = make_spec(device=device, height=height, width=width, batch=batch, dtype=dtype,
                     channels_last=channels_last, fast_norm=fast_norm, split_convs=split_convs,
                     compile_mode=compile_mode, cpu_compile=cpu_compile, cache_dir=cache_dir)
    table = {**DEFAULT_BUILDERS, **(builders or {})}
    candidates: list[tuple[str, BackendSpec]] = [
        (k, eager_fallback_spec(spec, channels_last=channels_last, fast_norm=fast_norm) if kind == "auto" and k == "eager" else spec)
        for k in (AUTO_ORDER if kind == "auto" else (kind,))
    ]
    ref_spec = eager.reference_spec(spec)
    if kind == "auto" and not eager.is_reference(spec):
        candidates.append(("eager", ref_spec))  # last resort: the reference itself always passes
    reference: Backend | None = None
    x = sample if sample is not None else parity_input(spec.batch, spec.height, spec.width, device=spec.device)
    fallbacks: list[tuple[str, str]] = []
    for i, (k, s) in enumerate(candidates):
        label = f"{k}[{s.tag()}]"
        nxt = f"{candidates[i + 1][0]}[{candidates[i + 1][1].tag()}]" if i + 1 < len(candidates) else "nothing"
        try:
            backend = table[k](model, s)
            report = None
            if parity and not (k == "eager" and eager.is_reference(s)):
                if reference is None:
                    reference = eager.build(model, ref_spec)
                report = check_parity(backend, reference, x.to(spec.device), thresholds=ParityThresholds.for_dtype(s.dtype))
                if not report.passed:
                    raise BackendUnavailable(k, f"rejected by parity check vs fp32 eager: {report.summary()}")
        except Exception as exc:  # noqa: BLE001 - any failure of one backend means: try the next
            if kind != "auto":
                raise exc if isinstance(exc, BackendUnavailable) else BackendUnavailable(k, _reason(exc)) from exc
            fallbacks.append((label, _reason(exc)))
            log.warning("backend %s not used: %s; falling back to %s", label, _reason(exc), nxt)
            continue
        backend._attach(parity=report, fallbacks=tuple(fallbacks))
        log.info("backend selected: %s", backend.describe())
        return backend
    raise BackendUnavailable(kind, "; ".join(f"{k}: {r}" for k, r in fallbacks))
