"""On-disk cache keys for built inference engines (TensorRT).

A serialized TensorRT engine is only valid for the exact weights, module structure (e.g. a colour
preservation amount, which is not a weight), input shape/dtype, GPU model and software versions
it was built with, so the key hashes all of them. Keys use SHA-256 over a
canonical JSON document (never Python's salted ``hash()``), so they are stable across processes.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import torch
from torch import nn


def weights_hash(model: nn.Module) -> str:
    """SHA-256 of every parameter and buffer: name, dtype, shape and raw bytes, in name order."""
    h = hashlib.sha256()
    state = model.state_dict()
    for name in sorted(state):
        t = state[name]
        if not isinstance(t, torch.Tensor):
            continue
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        # view as bytes: works for every dtype (numpy has no bfloat16).
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized engine depends on."""

    weights: str
    input_shape: tuple[int, ...]
    dtype: str
    gpu_name: str
    versions: tuple[tuple[str, str], ...]
    builder: str = "tensorrt"
    structure: str = ""  # sha256 of repr(model): module types and their settings (extra_repr)

    def digest(self) -> str:
        doc = asdict(self)
        doc["input_shape"] = list(self.input_shape)
        doc["versions"] = [list(v) for v in self.versions]
        blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:32]


def software_versions(extra: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """torch / CUDA / cuDNN versions, plus ``extra`` (e.g. torch_tensorrt and tensorrt)."""
    v = {
        "torch": torch.__version__,
        "cuda": str(torch.version.cuda),
        "cudnn": str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else "none",
    }
    v.update(extra or {})
    return tuple(sorted(v.items()))


def engine_key(
    model: nn.Module,
    *,
    input_shape: tuple[int, ...],
    dtype: torch.dtype,
    gpu_name: str,
    versions: tuple[tuple[str, str], ...],
    builder: str = "tensorrt",
) -> EngineKey:
    return EngineKey(
        weights=weights_hash(model),
        structure=hashlib.sha256(repr(model).encode()).hexdigest(),
        input_shape=tuple(int(s) for s in input_shape),
        dtype=str(dtype),
        gpu_name=gpu_name,
        versions=tuple(versions),
        builder=builder,
    )


def default_cache_dir() -> Path:
    """``$STYLECAST_CACHE_DIR`` or ``$XDG_CACHE_HOME/stylecast/engines`` (``~/.cache`` default)."""
    env = os.environ.get("STYLECAST_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stylecast" / "engines"
