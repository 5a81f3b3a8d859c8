"""Torch-TensorRT backend (dynamo path), fp16, with the engine cached on disk.

Follows the torch-tensorrt user guide ("Saving models compiled with Torch-TensorRT"):
``trt_gm = torch_tensorrt.compile(model, ir="dynamo", inputs=[...], enabled_precisions={torch.half})``,
``torch_tensorrt.save(trt_gm, path, inputs=[...])`` (newer releases name it ``arg_inputs``) writes an
ExportedProgram; ``torch_tensorrt.load(path).module()`` gives back a callable module without a
rebuild. Engines depend on weights, shape, GPU model and library versions, so the file name is
the :mod:`models.backends.cache` key of all of them. torch-tensorrt is the optional ``trt`` extra.
"""
from __future__ import annotations

import inspect
import json
import logging
from dataclasses import asdict
from pathlib import Path
from types import ModuleType

import torch
from torch import nn

from models.backends.base import Backend, BackendSpec, BackendUnavailable
from models.backends.cache import EngineKey, default_cache_dir, engine_key, software_versions
from models.backends.eager import prepare
from models.backends.parity import parity_input
from models.io.atomic import atomic_path, write_text_atomic

log = logging.getLogger("stylecast.backends")


def _import_trt() -> ModuleType:
    try:
        import torch_tensorrt
    except Exception as exc:  # ImportError, or a broken CUDA/TensorRT install raising at import
        raise BackendUnavailable(
            "tensorrt", f"torch_tensorrt not importable ({type(exc).__name__}: {exc}); install the 'trt' extra"
        ) from exc
    return torch_tensorrt


def _versions(trt: ModuleType) -> tuple[tuple[str, str], ...]:
    extra = {"torch_tensorrt": str(getattr(trt, "__version__", "unknown"))}
    try:
        import tensorrt

        extra["tensorrt"] = str(tensorrt.__version__)
    except Exception:  # noqa: BLE001 - version is best effort; torch_tensorrt's pins it anyway
        extra["tensorrt"] = "unknown"
    return software_versions(extra)


def _save(trt: ModuleType, trt_gm: object, path: Path, example: torch.Tensor) -> None:
    """Atomic save: write next to the target, then rename (no half-written engine is ever loaded)."""
    params = inspect.signature(trt.save).parameters
    kw = {"arg_inputs": [example]} if "arg_inputs" in params else {"inputs": [example]}
    with atomic_path(path, keep_suffix=True) as tmp:
        trt.save(trt_gm, str(tmp), **kw)


def _load(trt: ModuleType, path: Path) -> nn.Module:
    loaded = trt.load(str(path))
    return loaded.module() if hasattr(loaded, "module") else loaded


def build(model: nn.Module, spec: BackendSpec, *, trt_module: ModuleType | None = None) -> Backend:
    """``trt_module`` replaces ``import torch_tensorrt`` (tests inject a fake to check the
    cache logic on CPU; only then is a non-CUDA device accepted)."""
    trt = trt_module or _import_trt()
    if spec.device.type != "cuda" and trt_module is None:
        raise BackendUnavailable("tensorrt", f"needs a CUDA device, got {spec.device}")
    if spec.dtype not in (torch.float16, torch.float32):
        raise BackendUnavailable("tensorrt", f"supports float16/float32, got {spec.dtype}")
    module = prepare(model, BackendSpec(device=spec.device, height=spec.height, width=spec.width,
                                        batch=spec.batch, dtype=spec.dtype))
    example = parity_input(spec.batch, spec.height, spec.width, device=spec.device).to(spec.dtype)
    key: EngineKey = engine_key(
        module, input_shape=tuple(example.shape), dtype=spec.dtype,
        gpu_name=torch.cuda.get_device_name(spec.device) if spec.device.type == "cuda" else str(spec.device),
        versions=_versions(trt),
    )
    cache_dir = Path(spec.cache_dir) if spec.cache_dir else default_cache_dir()
    path = cache_dir / f"{key.digest()}.ep"
    engine: nn.Module | None = None
    source = "built"
    if path.exists():
        try:
            engine, source = _load(trt, path), f"loaded from cache {path}"
        except Exception as exc:  # noqa: BLE001 - a stale/corrupt engine is rebuilt, not fatal
            log.warning("tensorrt: cached engine %s unusable (%s); rebuilding", path, exc)
    if engine is None:
        try:
            engine = trt.compile(module, ir="dynamo", inputs=[example], enabled_precisions={spec.dtype})
        except Exception as exc:  # noqa: BLE001
            raise BackendUnavailable("tensorrt", f"engine build failed: {type(exc).__name__}: {exc}") from exc
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            _save(trt, engine, path, example)
            write_text_atomic(path.with_suffix(".json"), json.dumps(asdict(key), indent=1, default=str))
            source = f"built, cached at {path}"
        except Exception as exc:  # noqa: BLE001 - the engine still works, it just is not cached
            log.warning("tensorrt: could not cache engine at %s (%s)", path, exc)
            source = "built, not cached"
    return Backend(kind="tensorrt", name=f"tensorrt[{str(spec.dtype).removeprefix('torch.')}]",
                   fn=engine, spec=spec, static=True, notes=source)
