"""Replay a tensor function from CUDA graphs, one per input signature, with an eager fallback.

Why: the torch optical flow (:mod:`models.flow.torch_dis`) is ~1000 small kernels per call; on a
GPU their launch cost, not their work, sets its time. A captured graph launches them at once.
The function must be capturable: shapes fixed by the inputs' shapes, no host syncs, no host
data uploaded per call (the torch flow is tested for both). Not thread-safe: one per stream.
"""
from __future__ import annotations

import warnings
from typing import Callable

import torch
from torch import Tensor


class GraphCache:
    """``GraphCache(fn)(a, b, ...)`` == ``fn(a, b, ...)``; on CUDA inputs the call is captured
    once per (shapes, dtypes, device) and replayed after. Inputs are copied into the graph's
    static buffers and the output is cloned, so callers may keep results across calls. If
    capture fails, warns once and runs ``fn`` eagerly from then on."""

    def __init__(self, fn: Callable[..., Tensor], *, warmup: int = 2) -> None:
        self.fn = fn
        self.warmup = warmup
        self.failed = False
        self._graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, list[Tensor], Tensor]] = {}

    def __call__(self, *inputs: Tensor) -> Tensor:
        if self.failed or not inputs[0].is_cuda or torch.cuda.is_current_stream_capturing():
            return self.fn(*inputs)
        key = tuple((tuple(t.shape), t.dtype, t.device) for t in inputs)
        entry = self._graphs.get(key)
        if entry is None:
            try:
                entry = self._capture(inputs)
            except Exception as exc:  # noqa: BLE001 - any capture failure: eager is still correct
                warnings.warn(f"CUDA graph capture failed, running eagerly: {exc}", RuntimeWarning, stacklevel=2)
                self.failed = True
                return self.fn(*inputs)
            self._graphs[key] = entry
        graph, static, out = entry
        for s, t in zip(static, inputs):
            s.copy_(t)
        graph.replay()
        return out.clone()

    def _capture(self, inputs: tuple[Tensor, ...]) -> tuple[torch.cuda.CUDAGraph, list[Tensor], Tensor]:
        static = [t.clone() for t in inputs]
        side = torch.cuda.Stream(device=static[0].device)
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up off the default stream, as torch's docs require
            for _ in range(self.warmup):
                self.fn(*static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread_local: other threads (other peers' streams in the server) may keep using CUDA
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            out = self.fn(*static)
        return graph, static, out
