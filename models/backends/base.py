"""The backend interface: a callable ``frames -> frames`` with a name, dtype and device."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from models.backends.parity import ParityReport
from models.contracts import check_frames

KINDS = ("eager", "compile", "tensorrt")
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")


class BackendUnavailable(RuntimeError):
    """A backend cannot be built here (missing package, no GPU, compiler error, failed parity)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"{kind} backend unavailable: {reason}")
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class BackendSpec:
    """What a backend is built for. Static backends (compile, tensorrt) serve exactly
    ``height x width``; batches smaller than ``batch`` are padded, larger ones chunked."""

    device: torch.device
    height: int
    width: int
    batch: int = 1
    dtype: torch.dtype = torch.float32
    channels_last: bool = False
    # Instance-norm statistics in fp32 with one fused scale/shift (see models.backends.fastnorm).
    fast_norm: bool = False
    # Few-output large-kernel convolutions split into rows (models.backends.splitconv; CPU).
    split_convs: bool = False
    compile_mode: str = "reduce-overhead"
    # Inductor's CPU path compiles C++ for 10-30 s per shape: opt in only (the apps build it in the
    # background, models.backends.background, where bf16 + compile is ~3x eager fp32).
    cpu_compile: bool = False
    cache_dir: Path | None = None

    def tag(self) -> str:
        parts = [str(self.dtype).removeprefix("torch.")]
        if self.channels_last:
            parts.append("channels_last")
        if self.fast_norm:
            parts.append("fast_norm")
        if self.split_convs:
            parts.append("split_convs")
        return ",".join(parts)


class Backend:
    """Callable ``(N,3,H,W)`` RGB [0,1] -> same, in ``dtype`` on ``device``. Inputs are cast and
    moved as needed and never modified."""

    def __init__(
        self,
        *,
        kind: str,
        name: str,
        fn: Callable[[Tensor], Tensor],
        spec: BackendSpec,
        static: bool,
        notes: str = "",
    ) -> None:
        self.kind = kind
        self.name = name
        self.spec = spec
        self.static = static
        self.notes = notes
        self._fn = fn
        self._parity: ParityReport | None = None
        self._fallbacks: tuple[tuple[str, str], ...] = ()

    @property
    def dtype(self) -> torch.dtype:
        return self.spec.dtype

    @property
    def device(self) -> torch.device:
        return self.spec.device

    @property
    def parity(self) -> ParityReport | None:
        """Parity against fp32 eager (None for the fp32 eager reference itself)."""
        return self._parity

    @property
    def fallbacks(self) -> tuple[tuple[str, str], ...]:
        """``(kind, reason)`` for each backend tried and rejected before this one."""
        return self._fallbacks

    def _attach(self, *, parity: ParityReport | None, fallbacks: tuple[tuple[str, str], ...]) -> None:
        self._parity = parity
        self._fallbacks = fallbacks

    def describe(self) -> str:
        s = self.spec
        shape = f"{s.batch}x3x{s.height}x{s.width}" if self.static else "any shape"
        text = f"{self.name} on {self.device} ({shape})"
        if self._parity is not None:
            text += f"; parity {self._parity.summary()}"
        if self._fallbacks:
            text += "; fell back from " + ", ".join(f"{k} ({r})" for k, r in self._fallbacks)
        return text + (f"; {self.notes}" if self.notes else "")

    @torch.no_grad()
    def __call__(self, frames: Tensor) -> Tensor:
        check_frames(frames, f"{self.name} input")
        h, w = frames.shape[-2:]
        if self.static and (h, w) != (self.spec.height, self.spec.width):
            raise ValueError(
                f"{self.name}: built for H,W = {self.spec.height},{self.spec.width}, got {h},{w}; "
                "build one backend per stream resolution"
            )
        x = frames.to(device=self.device, dtype=self.dtype)
        # One fixed layout: static (compiled) backends guard on strides, and a channels_last
        # frame from GpuPipeline would otherwise trigger a second compile / graph capture.
        x = x.contiguous(memory_format=torch.channels_last if self.spec.channels_last else torch.contiguous_format)
        n, b = x.shape[0], self.spec.batch
        if not self.static or n == b:
            return self._fn(x)
        # Static shapes: pad the last chunk by repeating its last frame. Instance norm is per
        # sample, so padding never changes the real frames' outputs.
        outs = []
        for i in range(0, n, b):
            chunk = x[i : i + b]
            k = chunk.shape[0]
            if k < b:
                chunk = torch.cat([chunk, chunk[-1:].expand(b - k, -1, -1, -1)])
                if self.spec.channels_last:
                    chunk = chunk.contiguous(memory_format=torch.channels_last)
            outs.append(self._fn(chunk)[:k])
        return torch.cat(outs)
