"""Shape/dtype/range contracts for tensors crossing module boundaries (kornia style).

One helper, :func:`check`, raises ``ValueError``/``TypeError`` naming the expected and actual
shape. Keep checks at public entry points only; inner code trusts its callers.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check(
    t: object,
    name: str,
    *,
    shape: Sequence[int | str | None],
    dtypes: Sequence[torch.dtype] | None = FLOAT_DTYPES,
    like: Tensor | None = None,
) -> Tensor:
    """Validate ``t`` against ``shape``, e.g. ``("N", 3, "H", "W")``.

    Integers must match exactly; strings are symbolic names (must match the same dimension of
    ``like`` when given, for "N", "H", "W"); ``None`` accepts anything. Returns ``t``.
    """
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.ndim != len(shape):
        raise ValueError(f"{name}: expected shape {_fmt(shape)}, got {tuple(t.shape)}")
    for i, (want, got) in enumerate(zip(shape, t.shape)):
        if isinstance(want, int) and want != got:
            raise ValueError(f"{name}: expected shape {_fmt(shape)}, got {tuple(t.shape)}")
        if isinstance(want, str) and like is not None and want in ("N", "H", "W"):
            ref = like.shape[i] if like.ndim == t.ndim else None
            if ref is not None and ref != got and not (want == "N" and (ref == 1 or got == 1)):
                raise ValueError(
                    f"{name}: expected shape {_fmt(shape)} matching {tuple(like.shape)} in {want}, "
                    f"got {tuple(t.shape)}"
                )
    if dtypes is not None and t.dtype not in dtypes:
        raise TypeError(f"{name}: expected dtype in {[str(d) for d in dtypes]}, got {t.dtype}")
    return t


def check_frames(t: object, name: str = "frames", like: Tensor | None = None) -> Tensor:
    """``(N,3,H,W)`` floating RGB, nominally in [0,1] (range not scanned: it costs a sync)."""
    return check(t, name, shape=("N", 3, "H", "W"), like=like)


def check_flow(t: object, name: str = "flow", like: Tensor | None = None) -> Tensor:
    """``(N,2,H,W)`` floating flow in pixels; channel 0 is x (u), channel 1 is y (v)."""
    return check(t, name, shape=("N", 2, "H", "W"), like=like)


def check_mask(t: object, name: str = "mask", like: Tensor | None = None) -> Tensor:
    """``(N,1,H,W)`` floating mask in [0,1]."""
    return check(t, name, shape=("N", 1, "H", "W"), like=like)


def _fmt(shape: Sequence[int | str | None]) -> str:
    return "(" + ",".join("*" if s is None else str(s) for s in shape) + ")"


def default_dtype(device: torch.device | str) -> torch.dtype:
    """Frame dtype by convention: float16 on CUDA, float32 elsewhere."""
    return torch.float16 if torch.device(device).type == "cuda" else torch.float32
