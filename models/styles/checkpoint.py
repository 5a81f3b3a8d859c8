"""Style checkpoints: safetensors weights + JSON metadata in the safetensors header.

One self-describing file: ``<name>.safetensors`` whose ``__metadata__["stylecast"]`` holds a
JSON document (format version, style name, preset + TransformerConfig, loss network, training
settings, style-image sha256, date, description, license). A sidecar ``<name>.json`` with the
same document may sit next to it for humans; the header copy is authoritative.

Bundled styles are stored fp16 (half the size; the weights of a trained style net lose nothing
visible in fp16) and upcast to float32 on load.

A multi-style network (:class:`models.nets.multistyle.MultiStyleNet`, conditional instance norm) is
the same file format with ``"kind": "multistyle"``, format version 2 (so version-1 readers
refuse it with a clear message instead of a shape mismatch) and ``"styles"``: one entry per
member (name, description, license, style image and its sha256), in the order of the network's
style dimension.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from models.errors import UserError
from models.nets.multistyle import MultiStyleNet
from models.nets.transformer import PRESETS, TransformerConfig, TransformerNet
from models.io.atomic import atomic_path, write_text_atomic

FORMAT = "stylecast-style"
FORMAT_VERSION = 1  # single-style files
MULTI_FORMAT_VERSION = 2  # multi-style files
MAX_FORMAT_VERSION = 2  # newest this code reads
KIND_MULTI = "multistyle"
_META_KEY = "stylecast"


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_metadata(*, name: str, preset: str, config: TransformerConfig | None = None, loss_net: str = "",
                  training: Mapping[str, Any] | None = None, style_sha256: str = "", description: str = "",
                  license: str = "", created: str | None = None) -> dict[str, Any]:
    cfg = config or PRESETS[preset]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "preset": preset,
        "config": cfg.to_dict(),
        "loss_net": loss_net,
        "training": dict(training or {}),
        "style_sha256": style_sha256,
        "created": created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "description": description,
        "license": license,
    }


def save_style(path: str | os.PathLike, model: TransformerNet | MultiStyleNet, metadata: Mapping[str, Any], *,
               half: bool = False, sidecar: bool = False) -> Path:
    """Write atomically (temp file + rename). ``half`` stores fp16."""
    from safetensors.torch import save_file

    path = Path(path)
    meta = dict(metadata)
    meta.setdefault("format", FORMAT)
    meta.setdefault("format_version", FORMAT_VERSION)
    meta["dtype"] = "float16" if half else "float32"
    dtype = torch.float16 if half else torch.float32
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={_META_KEY: json.dumps(meta, sort_keys=True)})
    if sidecar:
        write_text_atomic(path.with_suffix(".json"), json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The JSON document of a stylecast checkpoint; UserError when it is not one."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise UserError(f"style checkpoint: expected a .safetensors file, got missing path {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
    except Exception as exc:
        raise UserError(f"{path}: not a readable safetensors file (corrupt or truncated?): {exc}") from exc
    raw = header.get(_META_KEY)
    if raw is None:
        raise UserError(f"{path}: not a stylecast checkpoint (no '{_META_KEY}' metadata in the safetensors header); "
                        f"import pytorch/examples .pth files with models.styles.checkpoint.import_pth")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: stylecast metadata is not valid JSON ({exc})") from exc
    if meta.get("format") != FORMAT or int(meta.get("format_version", 0)) > MAX_FORMAT_VERSION:
        raise UserError(f"{path}: expected format {FORMAT} version <= {MAX_FORMAT_VERSION}, "
                        f"got {meta.get('format')} version {meta.get('format_version')}")
    return meta


def load_style(path: str | os.PathLike, *, device: str | torch.device = "cpu",
               dtype: torch.dtype = torch.float32) -> tuple[TransformerNet, dict[str, Any]]:
    """(model in eval mode without grad, metadata). Mismatches raise UserError naming the preset."""
    meta = read_metadata(path)
    if is_multistyle(meta):
        raise UserError(f"{path}: a multi-style network with styles {style_names(meta)}; expected a single style: "
                        f"use models.styles.checkpoint.load_multistyle, or the style spec NAME:style")
    try:
        config = TransformerConfig.from_dict(meta["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: metadata has no valid TransformerConfig ({exc!r})") from exc
    model = TransformerNet(config)
    _load_weights(model, path, f"{path} (preset {meta.get('preset')!r}, config {config.to_dict()})", device, dtype)
    return model, meta


def is_multistyle(meta: Mapping[str, Any]) -> bool:
    return meta.get("kind") == KIND_MULTI


def style_names(meta: Mapping[str, Any]) -> list[str]:
    """Member names of a multi-style checkpoint's metadata (empty for a single style)."""
    return [str(e["name"]) for e in meta.get("styles", [])] if is_multistyle(meta) else []


def make_multistyle_metadata(*, name: str, preset: str, styles: Sequence[Mapping[str, Any]],
                             config: TransformerConfig | None = None, loss_net: str = "",
                             training: Mapping[str, Any] | None = None, description: str = "", license: str = "",
                             created: str | None = None) -> dict[str, Any]:
    """Metadata of a multi-style network; ``styles``: per member ``{"name", "description"?,
    "license"?, "style_image"?, "style_sha256"?}`` in the network's style order."""
    members = []
    for e in styles:
        if "name" not in e:
            raise ValueError(f"styles: expected a 'name' in every entry, got {dict(e)}")
        members.append({"name": str(e["name"]), "description": str(e.get("description", "")),
                        "license": str(e.get("license", "")), "style_image": str(e.get("style_image", "")),
                        "style_sha256": str(e.get("style_sha256", ""))})
    meta = make_metadata(name=name, preset=preset, config=config, loss_net=loss_net, training=training,
                         description=description, license=license, created=created)
    meta.update(format_version=MULTI_FORMAT_VERSION, kind=KIND_MULTI, styles=members)
    return meta


def load_multistyle(path: str | os.PathLike, *, device: str | torch.device = "cpu",
                    dtype: torch.dtype = torch.float32) -> tuple[MultiStyleNet, dict[str, Any]]:
    """(multi-style network in eval mode without grad, metadata); UserError for a single style."""
    meta = read_metadata(path)
    if not is_multistyle(meta):
        raise UserError(f"{path}: a single-style checkpoint; expected a multi-style network (\"kind\": \"{KIND_MULTI}\")")
    try:
        config = TransformerConfig.from_dict(meta["config"])
        model = MultiStyleNet(config, style_names=style_names(meta))
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{path}: multi-style metadata has no valid config and style names ({exc!r})") from exc
    _load_weights(model, path, f"{path} (preset {meta.get('preset')!r}, {model.n_styles} styles)", device, dtype)
    return model, meta


def _load_weights(model: torch.nn.Module, path: str | os.PathLike, label: str, device: str | torch.device,
                  dtype: torch.dtype) -> None:
    """Read the tensors of ``path`` into ``model`` (checked, upcast from fp16), then eval, no grad."""
    from safetensors.torch import load_file

    try:
        sd = load_file(str(path))
    except Exception as exc:
        raise UserError(f"{path}: cannot read tensors (corrupt file?): {exc}") from exc
    _check_state(model, sd, label)
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    model.to(device=device, dtype=dtype).eval().requires_grad_(False)


def _check_state(model: TransformerNet | MultiStyleNet, sd: Mapping[str, Tensor], what: str) -> None:
    want = model.state_dict()
    missing = sorted(set(want) - set(sd))
    unexpected = sorted(set(sd) - set(want))
    if missing or unexpected:
        raise UserError(f"{what}: weights do not match the architecture: missing keys {missing[:6]}"
                        f"{'...' if len(missing) > 6 else ''}, unexpected keys {unexpected[:6]}"
                        f"{'...' if len(unexpected) > 6 else ''}")
    for k, v in want.items():
        if tuple(sd[k].shape) != tuple(v.shape):
            raise UserError(f"{what}: shape mismatch for {k}: expected {tuple(v.shape)}, got {tuple(sd[k].shape)}")


def import_pth(src: str | os.PathLike, dst: str | os.PathLike, *, name: str | None = None,
               preset: str = "standard", description: str = "", license: str = "", half: bool = False) -> Path:
    """Convert a pytorch/examples ``fast_neural_style`` ``.pth`` into a stylecast checkpoint.

    Those files use this module layout; old ones carry InstanceNorm ``running_mean/var`` keys
    (a PyTorch < 0.4 artefact, unused with track_running_stats=False) which are dropped.
    """
    src = Path(src)
    try:
        sd = torch.load(str(src), map_location="cpu", weights_only=True)
    except Exception as exc:
        from models.styles.pth_diagnose import describe_bad_pth

        raise UserError(f"{src}: cannot import: {describe_bad_pth(src, exc)}") from None
    if not isinstance(sd, dict):
        raise UserError(f"{src}: expected a state dict, got {type(sd).__name__}")
    sd = {k: v for k, v in sd.items() if not (k.endswith("running_mean") or k.endswith("running_var")
                                               or k.endswith("num_batches_tracked"))}
    config = PRESETS[preset]
    model = TransformerNet(config)
    _check_state(model, sd, f"{src} (preset {preset!r})")
    model.load_state_dict(sd)
    meta = make_metadata(name=name or src.stem, preset=preset, config=config, loss_net="vgg16 (pytorch/examples)",
                         training={"imported_from": src.name}, description=description, license=license)
    return save_style(dst, model, meta, half=half)
