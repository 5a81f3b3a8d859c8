"""Markdown tables for :mod:`models.cli.bench_harness` results."""
from __future__ import annotations

import math
import time

import torch

from models.cli.bench_harness import BASELINE, SIZES, Results, size_hw
from models.io.atomic import write_text_atomic


def _f(x: float, fmt: str = "{:.2f}") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else ("inf" if x == math.inf else fmt.format(x))


def to_markdown(res: Results) -> str:
    cfg = res.config
    lines = [
        f"## stylecast bench: {res.device_name}",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; torch {torch.__version__}, CUDA {torch.version.cuda}; "
        f"preset `{cfg.preset}`; {cfg.iters} timed iterations after warm-up calls (3, or 1 when iterations < 3); median unless noted.",
        "Network = backend call on a device tensor (synchronised). End-to-end = uint8 numpy frame in -> "
        "uint8 numpy out via GpuPipeline (on CUDA: pinned upload, convert, stylize, convert, download; no "
        "temporal blend), synchronous latency. Pipelined fps = submit t+1 before collecting t (depth 2). "
        "E2e + temporal = the same with models.temporal.blender.TemporalBlender per stream (flow, warp, blend) on a "
        "3 px/frame pan. "
        f"Speed-up = `{BASELINE}` network ms / this network ms, same run. PSNR = parity vs fp32 eager (dB).",
        "",
        "| size | backend | status | network ms | p99 ms | end-to-end ms | e2e fps | pipelined fps | e2e + temporal ms | speed-up | peak MiB | PSNR | build s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    base = {r.size: r.net_ms for r in res.rows if r.variant == BASELINE and r.status == "ok"}
    order = sorted(res.rows, key=lambda r: (size_hw(r.size)[0] * size_hw(r.size)[1], r.variant != BASELINE))
    for r in order:
        h, w = size_hw(r.size)
        speed = base.get(r.size, math.nan) / r.net_ms if r.status == "ok" else math.nan
        fps = 1e3 / r.e2e_ms if r.status == "ok" else math.nan
        lines.append(
            f"| {(r.size + ' ') if r.size in SIZES else ''}{w}x{h} | {r.variant} | {r.status} | {_f(r.net_ms)} | {_f(r.net_p99_ms)} | {_f(r.e2e_ms)} | "
            f"{_f(fps, '{:.1f}')} | {_f(r.fps_pipelined, '{:.1f}')} | {_f(r.e2e_temporal_ms)} | {_f(speed, '{:.2f}x')} | {_f(r.mem_mib, '{:.0f}')} | "
            f"{_f(r.psnr, '{:.1f}')} | {_f(r.build_s, '{:.1f}')} |"
        )
    if res.streams:
        h, w = size_hw(cfg.stream_size)
        lines += [
            "",
            f"### Concurrent {cfg.stream_size} ({w}x{h}) streams, one batched forward pass per time step",
            "",
            "| streams | backend | status | batch ms (median) | p99 ms | frames/s total | each stream at 30 fps (p99 < 33 ms) |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in res.streams:
            rt = "-" if s.status != "ok" else ("yes" if s.p99_ms < 33.3 else "no")
            lines.append(f"| {s.streams} | {s.variant} | {s.status} | {_f(s.batch_ms)} | {_f(s.p99_ms)} | "
                         f"{_f(s.frames_per_s, '{:.0f}')} | {rt} |")
    details = [f"- {r.size} {r.variant}: {r.backend}" for r in order if r.backend]
    if details:
        lines += ["", "<details><summary>backend details</summary>", "", *details, "", "</details>"]
    lines += [f"- {n}" for n in res.notes]
    return "\n".join(lines) + "\n"


def write_markdown(res: Results) -> None:
    if res.config.out is None:
        return
    path = res.config.out
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, to_markdown(res))
