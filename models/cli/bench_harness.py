"""Benchmark of backends and of the whole per-frame path (``stylecast bench``, bench/*.py).

For each resolution and backend variant: network-only ms (median and p99 over ``iters``),
end-to-end ms (uint8 numpy in -> uint8 numpy out through :class:`models.gpu_pipeline.GpuPipeline`,
synchronous, i.e. latency), pipelined fps (``depth``-2 submit/result overlap), peak GPU memory,
parity vs fp32 eager and the speed-up over fp32 eager measured in the same run. Then the
throughput of 1, 4, 16 concurrent streams batched into one forward pass. Every item runs inside
a try/except (a failing backend is reported, the run goes on) and nothing starts after
``budget_s``; the markdown is rewritten after each item, so a killed run still leaves a table.
"""
from __future__ import annotations

import math
import re
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from models.backends import build_backend
from models.backends.parity import parity_input
from models.errors import one_line_reason
from models.gpu_pipeline import GpuPipeline

# name -> build_backend keyword arguments
VARIANTS: dict[str, dict] = {
    "eager-fp32": dict(kind="eager", dtype=torch.float32, channels_last=False, fast_norm=False),
    "eager-fp32-cl": dict(kind="eager", dtype=torch.float32, channels_last=True, fast_norm=False),
    "eager-fp16": dict(kind="eager", dtype=torch.float16, channels_last=False, fast_norm=False),
    "eager-fp16-cl": dict(kind="eager", dtype=torch.float16, channels_last=True, fast_norm=False),
    "eager-fp16-cl-fastnorm": dict(kind="eager", dtype=torch.float16, channels_last=True, fast_norm=True),
    "eager-fp16-fastnorm": dict(kind="eager", dtype=torch.float16, channels_last=False, fast_norm=True),
    "tensorrt-fp16": dict(kind="tensorrt", dtype=torch.float16, channels_last=False, fast_norm=False),
    "compile-ro-fp16-cl": dict(kind="compile", dtype=torch.float16, channels_last=True, fast_norm=True,
                               compile_mode="reduce-overhead"),
    "compile-ro-fp16": dict(kind="compile", dtype=torch.float16, channels_last=False, fast_norm=False,
                            compile_mode="reduce-overhead"),
    # isolates the fast norm under compile (compile-ro-fp16-cl minus fast_norm): #15 keeps
    # FastInstanceNorm2d only if this row is slower
    "compile-ro-fp16-cl-plainnorm": dict(kind="compile", dtype=torch.float16, channels_last=True, fast_norm=False,
                                         compile_mode="reduce-overhead"),
    "compile-ma-fp16-cl": dict(kind="compile", dtype=torch.float16, channels_last=True, fast_norm=True,
                               compile_mode="max-autotune-no-cudagraphs"),
}
BASELINE = "eager-fp32"
SIZES = {"240p": (240, 320), "480p-vga": (480, 640), "480p": (480, 854), "720p": (720, 1280), "1080p": (1080, 1920)}


def size_hw(name: str) -> tuple[int, int]:
    """(H, W) of a named size ("720p") or of "WxH" ("1280x720")."""
    if name in SIZES:
        return SIZES[name]
    m = re.fullmatch(r"(\d+)x(\d+)", name)
    if not m or int(m[1]) < 1 or int(m[2]) < 1:
        raise ValueError(f"size: expected one of {sorted(SIZES)} or WxH, got {name!r}")
    return int(m[2]), int(m[1])


# Preference for the multi-stream run: the first variant that worked at the stream resolution.
STREAM_PREFERENCE = ("tensorrt-fp16", "compile-ro-fp16-cl", "compile-ro-fp16", "compile-ma-fp16-cl",
                     "eager-fp16-cl-fastnorm", "eager-fp16-fastnorm", "eager-fp16", "eager-fp32")


@dataclass(frozen=True)
class BenchConfig:
    device: str
    preset: str
    sizes: tuple[str, ...]
    variants: tuple[str, ...]
    streams: tuple[int, ...]
    stream_size: str
    iters: int = 50
    budget_s: float = 480.0
    out: Path | None = None
    cache_dir: Path | None = None
    # Run after the concurrent-stream items, only if budget remains (slow to build).
    extra_variants: tuple[str, ...] = ()
    # Also time end-to-end with models.temporal.blender.TemporalBlender (flow + warp + blend) per stream.
    temporal: bool = False


@dataclass
class Row:
    size: str
    variant: str
    status: str = "ok"
    net_ms: float = math.nan
    net_p99_ms: float = math.nan
    e2e_ms: float = math.nan
    e2e_temporal_ms: float = math.nan
    fps_pipelined: float = math.nan
    mem_mib: float = math.nan
    psnr: float = math.nan
    build_s: float = math.nan
    backend: str = ""


@dataclass
class StreamRow:
    streams: int
    variant: str
    status: str = "ok"
    batch_ms: float = math.nan
    p99_ms: float = math.nan
    frames_per_s: float = math.nan


@dataclass
class Results:
    device_name: str
    config: BenchConfig
    rows: list[Row] = field(default_factory=list)
    streams: list[StreamRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_calls(fn: Callable[[], object], *, device: torch.device, iters: int, warmup: int | None = None) -> list[float]:
    """Per-call milliseconds; CUDA work is synchronised around every call (latency, not overlap).
    Warm-up: 3 calls, or 1 for very short runs (iters < 3)."""
    for _ in range(warmup if warmup is not None else (3 if iters >= 3 else 1)):
        fn()
    _sync(device)
    out = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def p99(xs: list[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, math.ceil(0.99 * len(s)) - 1)]


def sample_u8(h: int, w: int, seed: int = 0) -> np.ndarray:
    x = parity_input(1, h, w, seed=seed)[0]
    # C-contiguous like a decoder's frame: numpy keeps the permuted (CHW) memory order through
    # `*` and astype, and copying such a strided array into the pinned buffer cost ~8 ms per
    # 1080p frame, which the first H100 run's end-to-end column measured instead of the pipeline.
    return np.ascontiguousarray((x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))


def bench_one(model: nn.Module, cfg: BenchConfig, size: str, variant: str) -> Row:
    dev = torch.device(cfg.device)
    h, w = size_hw(size)
    row = Row(size, variant)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    t0 = time.perf_counter()
    backend = build_backend(model, device=dev, height=h, width=w, cache_dir=cfg.cache_dir, **VARIANTS[variant])
    row.build_s = time.perf_counter() - t0
    row.backend = backend.describe()
    row.psnr = backend.parity.psnr_db if backend.parity else math.inf
    x = parity_input(1, h, w, device=dev).to(backend.dtype)
    if backend.spec.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    net = time_calls(lambda: backend(x), device=dev, iters=cfg.iters)
    row.net_ms, row.net_p99_ms = statistics.median(net), p99(net)
    pipe = GpuPipeline(backend, device=dev, dtype=backend.dtype)
    frame = {"s": sample_u8(h, w)}
    row.e2e_ms = statistics.median(time_calls(lambda: pipe.process(frame), device=dev, iters=cfg.iters))
    n = cfg.iters
    t0 = time.perf_counter()
    prev = pipe.submit(frame)
    for _ in range(n - 1):  # overlap: frame t+1 is uploaded while t is still computing
        nxt = pipe.submit(frame)
        prev.result()
        prev = nxt
    prev.result()
    row.fps_pipelined = n / (time.perf_counter() - t0)
    if cfg.temporal:
        row.e2e_temporal_ms = _temporal_ms(backend, dev, h, w, cfg.iters)
    if dev.type == "cuda":
        row.mem_mib = torch.cuda.max_memory_allocated(dev) / 2**20
    return row


def moving_frames(h: int, w: int, n: int = 8) -> list[np.ndarray]:
    """A camera pan: the sample shifted by 3 px per frame, so optical flow has work to do."""
    base = sample_u8(h, w)
    return [np.ascontiguousarray(np.roll(base, 3 * t, axis=1)) for t in range(n)]


def _temporal_ms(backend: Callable, dev: torch.device, h: int, w: int, iters: int) -> float:
    from models.temporal.blender import TemporalBlender  # lazy: only this measurement needs it

    pipe = GpuPipeline(backend, device=dev, dtype=backend.dtype, blender_factory=TemporalBlender)
    frames = moving_frames(h, w)
    counter = iter(range(10**9))
    return statistics.median(
        time_calls(lambda: pipe.process({"s": frames[next(counter) % len(frames)]}), device=dev, iters=iters)
    )


def bench_streams(model: nn.Module, cfg: BenchConfig, n: int, variant: str) -> StreamRow:
    dev = torch.device(cfg.device)
    h, w = size_hw(cfg.stream_size)
    backend = build_backend(model, device=dev, height=h, width=w, batch=n, cache_dir=cfg.cache_dir, **VARIANTS[variant])
    pipe = GpuPipeline(backend, device=dev, dtype=backend.dtype)
    frames = {f"s{i}": sample_u8(h, w, seed=i) for i in range(n)}
    lat = time_calls(lambda: pipe.process(frames), device=dev, iters=cfg.iters)
    med = statistics.median(lat)
    return StreamRow(n, variant, batch_ms=med, p99_ms=p99(lat), frames_per_s=n * 1e3 / med)


def plan(cfg: BenchConfig, variants: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """(size, variant) items by priority: baseline everywhere first, then the other variants in
    the given order, largest size first (what the targets are about)."""
    variants = cfg.variants if variants is None else variants
    by_size_desc = sorted(cfg.sizes, key=lambda s: -size_hw(s)[0] * size_hw(s)[1])
    items = [(s, BASELINE) for s in by_size_desc if BASELINE in variants]
    for v in variants:
        if v != BASELINE:
            items += [(s, v) for s in by_size_desc]
    return items


def _status(exc: Exception) -> str:
    from models.backends.base import BackendUnavailable

    if isinstance(exc, BackendUnavailable):
        return f"unavailable: {exc.reason}"[:240]
    return f"failed: {one_line_reason(exc, with_type=True)}"[:240]


def run(model: nn.Module, cfg: BenchConfig, *, progress: Callable[[str], None] = lambda s: None,
        on_result: Callable[[Results], None] = lambda r: None) -> Results:
    """Run the plan; ``on_result`` sees the results after each item (``stylecast bench`` rewrites its
    markdown there, so a killed run still leaves a table)."""
    unknown = [v for v in (*cfg.variants, *cfg.extra_variants) if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {unknown}; expected some of {sorted(VARIANTS)}")
    for s in (*cfg.sizes, cfg.stream_size):
        size_hw(s)
    dev = torch.device(cfg.device)
    res = Results(device_name(dev), cfg)
    deadline = time.monotonic() + cfg.budget_s
    _run_items(model, cfg, plan(cfg), res, deadline, progress, on_result)
    ok = {r.variant for r in res.rows if r.size == cfg.stream_size and r.status == "ok"}
    pick = next((v for v in STREAM_PREFERENCE if v in ok), None)
    for n in cfg.streams:
        progress(f"{n} streams @ {cfg.stream_size}")
        if pick is None or time.monotonic() > deadline:
            res.streams.append(StreamRow(n, pick or "-", status="skipped (budget)" if pick else "no working backend"))
            continue
        try:
            res.streams.append(bench_streams(model, cfg, n, pick))
        except Exception as exc:  # noqa: BLE001
            res.streams.append(StreamRow(n, pick, status=_status(exc)))
        on_result(res)
    _run_items(model, cfg, plan(cfg, cfg.extra_variants), res, deadline, progress, on_result)
    return res


def _run_items(model: nn.Module, cfg: BenchConfig, items: list[tuple[str, str]], res: Results, deadline: float,
               progress: Callable[[str], None], on_result: Callable[[Results], None]) -> None:
    for size, variant in items:
        progress(f"{variant} @ {size}")
        if time.monotonic() > deadline:
            res.rows.append(Row(size, variant, status="skipped (budget)"))
            continue
        try:
            res.rows.append(bench_one(model, cfg, size, variant))
        except Exception as exc:  # noqa: BLE001 - report and go on
            res.rows.append(Row(size, variant, status=_status(exc)))
        on_result(res)


def default_config(device: str, **overrides) -> BenchConfig:
    if torch.device(device).type == "cuda":
        cfg = BenchConfig(device=device, preset="standard", sizes=("480p", "720p", "1080p"),
                          variants=("eager-fp32", "eager-fp16", "eager-fp16-fastnorm", "eager-fp16-cl", "eager-fp16-cl-fastnorm",
                                    "tensorrt-fp16", "compile-ro-fp16-cl"),
                          streams=(1, 4, 16), stream_size="720p", iters=50,
                          extra_variants=("compile-ro-fp16-cl-plainnorm", "compile-ro-fp16", "compile-ma-fp16-cl"), temporal=True)
    else:
        cfg = BenchConfig(device=device, preset="light", sizes=("240p", "480p-vga"),
                          variants=("eager-fp32", "eager-fp32-cl"), streams=(1, 4), stream_size="240p",
                          iters=10, budget_s=240.0)
    return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
