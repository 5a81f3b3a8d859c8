"""Run an application's stylizer through the best inference backend, safely.

:func:`accelerate` wraps a style network so that each input resolution it meets gets its own
:func:`models.backends.build_backend` (static shapes: compile and TensorRT are built per
``N x H x W``). The wrapper is what `stylecast live` calls instead of the bare module.

Why the care:
- **Built on the calling thread, on first use.** CUDA graphs (torch.compile
  ``reduce-overhead``) are recorded per thread and assert when another thread replays them
  (pytorch/pytorch#123177), so the backend is built and its parity check run on the thread
  that will call it — the live loop's model thread.
- **Never worse than eager.** A build that fails, or a call that raises later, is logged and the
  plain module serves every frame from then on: an accelerator problem costs speed, not the
  stream. Parity against fp32 eager is checked before a compiled backend serves (build_backend).
- **Multi-style networks stay eager**: their blend is module state changed in place between
  frames (``set_mix``), which a compiled or TensorRT copy would not follow.
- On a CPU, ``auto`` is :class:`models.backends.background.BackgroundCompiled`: the module
  serves eager while a compiled bf16 (fp32 without native bf16) copy is built on a background
  thread (10-30 s per size: blocking the loop that long would freeze the stream), then the
  compiled copy serves (~3x faster on the 2-core VM). ``STYLECAST_CPU_COMPILE=0`` keeps eager.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import torch
from torch import Tensor, nn

from models.backends.background import compile_dtype
from models.backends.base import Backend
from models.errors import one_line_reason

log = logging.getLogger("stylecast.backends")

Stylizer = Callable[[Tensor], Tensor]
BACKEND_CHOICES = ("auto", "eager", "compile", "tensorrt")


class Accelerated:
    """``model`` served through ``build_backend(kind=...)`` per input shape (see module doc).

    Attributes not defined here (``style_names``, ``inner``...) are the model's. ``report``
    receives one line when a backend is being built (it can take seconds) and when one fails.
    """

    def __init__(self, model: nn.Module, *, kind: str, device: torch.device | str,
                 report: Callable[[str], None] | None = None,
                 build: Callable[..., Backend] | None = None, dtype: torch.dtype | None = None) -> None:
        if kind not in BACKEND_CHOICES:
            raise ValueError(f"kind: expected one of {BACKEND_CHOICES}, got {kind!r}")
        self.model = model
        self.kind = kind
        self.device = torch.device(device)
        # the build's dtype (default: fp16 on CUDA, bf16 on a CPU that has it; models.backends.background)
        self.dtype = dtype or compile_dtype(self.device)
        self._report = report or (lambda line: log.info("%s", line))
        if build is None:
            from models.backends import build_backend as build
        self._build = build
        self._backends: dict[tuple[int, int, int], Backend] = {}
        self.failed: str | None = None  # why the plain module serves, once something broke

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this object lacks: the wrapped model's attributes.
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def describe(self) -> str:
        if self.failed:
            return f"eager (plain module): {self.failed}"
        if not self._backends:
            return f"{self.kind}: not built yet"
        return "; ".join(f"{n}x{h}x{w}: {b.describe()}" for (n, h, w), b in self._backends.items())

    def __call__(self, frames: Tensor) -> Tensor:
        if self.failed is not None:
            return self.model(frames)
        key = (int(frames.shape[0]), int(frames.shape[-2]), int(frames.shape[-1]))
        backend = self._backends.get(key)
        if backend is None:
            backend = self._build_for(key)
            if backend is None:
                return self.model(frames)
        try:
            return backend(frames)
        except Exception as exc:  # noqa: BLE001 - any runtime failure: keep the stream going
            self._fail(f"{backend.name} failed on a frame ({one_line_reason(exc, with_type=True, limit=240)})")
            return self.model(frames)

    def _build_for(self, key: tuple[int, int, int]) -> Backend | None:
        n, h, w = key
        self._report(f"building the {self.kind} backend for {n}x3x{h}x{w} on {self.device} "
                     "(torch.compile takes ~5-20 s the first time; frames are dropped meanwhile)")
        try:
            # On a CPU an explicit kind compiles as auto does in the background (bf16 where native)
            extra = {} if self.device.type == "cuda" else {"cpu_compile": True, "dtype": self.dtype,
                                                           "compile_mode": "default"}
            backend = self._build(self.model, kind=self.kind, device=self.device, height=h, width=w, batch=n, **extra)
        except Exception as exc:  # noqa: BLE001 - explicit kinds raise BackendUnavailable; anything else too
            self._fail(f"{self.kind} backend could not be built ({one_line_reason(exc, with_type=True, limit=280)})")
            return None
        self._backends[key] = backend
        self._report(f"backend: {backend.describe()}")
        return backend

    def _fail(self, why: str) -> None:
        self.failed = why
        self._backends.clear()
        self._report(f"{why}; serving with the plain module from now on")
        log.warning("%s; serving with the plain module from now on", why)


def accelerate(stylizer: Stylizer, *, kind: str = "auto", device: torch.device | str,
               report: Callable[[str], None] | None = None) -> Stylizer:
    """``stylizer`` wrapped in :class:`Accelerated` (CUDA or an explicit kind) or
    :class:`~models.backends.background.BackgroundCompiled` (``auto`` on a CPU) where that can
    help, else unchanged: ``eager``, a multi-style network (live mix), anything that is not an
    ``nn.Module`` and ``auto`` on a CPU with ``STYLECAST_CPU_COMPILE=0`` are returned as they are."""
    if kind not in BACKEND_CHOICES:
        raise ValueError(f"kind: expected one of {BACKEND_CHOICES}, got {kind!r}")
    dev = torch.device(device)
    if kind == "eager":
        return stylizer
    if not isinstance(stylizer, nn.Module) or hasattr(stylizer, "set_mix"):
        (report or log.info)(f"{type(stylizer).__name__}: not accelerated (a multi-style blend is live module "
                             "state that a compiled copy would not follow); running eager")
        return stylizer
    if kind == "auto" and dev.type != "cuda":
        from models.backends.background import BackgroundCompiled, cpu_compile_enabled
        from models.backends.cache import default_cache_dir

        if not cpu_compile_enabled():
            return stylizer
        # exact shapes: a live stream has one size, and a bucket's padding costs network time
        # (360 -> 368 rows at 480x360) and a strided crop that the temporal step pays for again
        return BackgroundCompiled(stylizer, device=dev, cache_dir=default_cache_dir(), report=report, exact=True)
    return Accelerated(stylizer, kind=kind, device=dev, report=report)
