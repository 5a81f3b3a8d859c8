"""Style registry: bundled styles (``models/styles/``) and the user's styles directory.

User styles live in ``$STYLECAST_STYLES_DIR`` (default ``~/.local/share/stylecast/styles``);
``stylecast train -o NAME`` writes there. A user style with a bundled name shadows the bundled
one. Anything that is an existing path is loaded as a file.

Style specs (what ``-s`` and :func:`load_stylizer` take):

- ``NAME`` or ``path/to/file.safetensors``: a single-style checkpoint;
- ``NET:style``: one member of the multi-style network ``NET`` (a name or a path);
- ``NET:a=0.7,b=0.3``: a blend of its members (weights >= 0, normalised to sum 1).

Each member of a multi-style network is listed as its own style, ``NET:style``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.styles.checkpoint import is_multistyle, load_multistyle, load_style, read_metadata, style_names
from models.nets.color import ColorPreserving
from models.contracts import default_dtype
from models.errors import UserError
from models.nets.multistyle import MixedStylizer, MultiStyleNet
from models.nets.mix import parse_mix

BUNDLED_DIR = Path(__file__).resolve().parent  # the bundled weights sit beside this module
DEFAULT_STYLE = "starry_night"


@dataclass(frozen=True)
class StyleEntry:
    name: str
    path: Path
    preset: str
    source: str  # "bundled" | "user"
    description: str
    loss_net: str = ""
    network: str = ""  # multi-style members: the network's name (``name`` is "network:member")
    members: tuple[str, ...] = ()  # multi-style members: every member of that network, in order
    license: str = ""
    preserve_color: float = 0.0  # what the file asks for (models.nets.color); 0 = the network's own colours

    @property
    def member(self) -> str:
        return self.name.partition(":")[2] if self.network else ""


def user_styles_dir() -> Path:
    env = os.environ.get("STYLECAST_STYLES_DIR")
    return Path(env).expanduser() if env else Path.home() / ".local" / "share" / "stylecast" / "styles"


def _scan(directory: Path, source: str) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Checkpoint files by stem with their metadata."""
    if not directory.is_dir():
        return {}
    out = {}
    for p in sorted(directory.glob("*.safetensors")):
        try:
            out[p.stem] = (p, read_metadata(p))
        except UserError:
            continue  # not ours / corrupt: skipped in listings, explained when loaded by path
    return out


def broken_styles() -> list[tuple[str, Path, str]]:
    """``(name, path, reason)`` of the ``.safetensors`` files in the bundled and user style
    directories that cannot be used (corrupt, truncated, not a stylecast checkpoint): listings
    show them with the reason instead of leaving them out silently."""
    out = []
    for directory in (BUNDLED_DIR, user_styles_dir()):
        if not directory.is_dir():
            continue
        for p in sorted(directory.glob("*.safetensors")):
            try:
                file_preserve_color(read_metadata(p), p)
            except UserError as exc:
                out.append((p.stem, p, str(exc).removeprefix(f"{p}: ")))
    return out


def _entries(stem: str, path: Path, meta: dict[str, Any], source: str) -> list[StyleEntry]:
    try:
        colour = file_preserve_color(meta, path)
    except UserError:
        colour = 0.0  # listed; loading it explains the bad value
    common = dict(path=path, preset=str(meta.get("preset", "?")), source=source, loss_net=str(meta.get("loss_net", "")),
                  preserve_color=colour)
    if not is_multistyle(meta):
        return [StyleEntry(name=stem, description=str(meta.get("description", "")),
                           license=str(meta.get("license", "")), **common)]  # type: ignore[arg-type]
    members = tuple(style_names(meta))
    return [StyleEntry(name=f"{stem}:{m['name']}", description=str(m.get("description", "")),
                       license=str(m.get("license", "") or meta.get("license", "")), network=stem, members=members,
                       **common)  # type: ignore[arg-type]
            for m in meta.get("styles", [])]


def _files() -> dict[str, tuple[Path, dict[str, Any], str]]:
    files = {k: (p, m, "bundled") for k, (p, m) in _scan(BUNDLED_DIR, "bundled").items()}
    files.update({k: (p, m, "user") for k, (p, m) in _scan(user_styles_dir(), "user").items()})
    return files


def list_styles() -> list[StyleEntry]:
    """Bundled then user styles, by name; a user file shadows a bundled one of the same name.

    A multi-style network contributes one entry per member, named ``NET:style``.
    """
    out = [e for stem, (p, m, src) in _files().items() for e in _entries(stem, p, m, src)]
    return sorted(out, key=lambda e: (e.source != "bundled", e.name))


def _unknown(s: str) -> UserError:
    for name, path, reason in broken_styles():
        if s in (name, f"{path}") or s.partition(":")[0] == name:
            return UserError(f"style {s!r}: {path} is broken: {reason}")
    names = ", ".join(e.name for e in list_styles()) or "(none)"
    return UserError(f"unknown style {s!r}: expected a style name ({names}), NET:a=0.7,b=0.3 for a blend, "
                     f"or a path to a .safetensors file")


def _resolve_file(s: str) -> Path | None:
    p = Path(s).expanduser()
    if p.is_file():
        return p
    hit = _files().get(s)
    return hit[0] if hit else None


def split_spec(spec: str | os.PathLike) -> tuple[Path, str | None]:
    """``spec`` -> (checkpoint path, member/blend text or None). UserError for unknown names."""
    s = str(spec)
    path = _resolve_file(s)
    if path is not None:
        return path, None
    base, sep, rest = s.rpartition(":")
    if sep and base:
        path = _resolve_file(base)
        if path is not None:
            return path, rest
    raise _unknown(s)


def resolve_style(name_or_path: str | os.PathLike) -> Path:
    """A style spec (name, path, ``NET:style``, ``NET:a=..,b=..``) -> its checkpoint file;
    UserError listing available names."""
    return split_spec(name_or_path)[0]


def style_metadata(name_or_path: str | os.PathLike) -> dict[str, Any]:
    return read_metadata(resolve_style(name_or_path))


def load_stylizer(name_or_path: str | os.PathLike, *, device: str | torch.device = "cpu",
                  dtype: torch.dtype | None = None, preserve_color: float | None = None) -> nn.Module:
    """Style network for a spec (see the module doc), eval mode, no grad, on ``device``/``dtype``
    (default by device convention).

    Call it with frames ``(N,3,H,W)`` RGB [0,1] of the same dtype; returns the same shape. A
    multi-style spec gives a :class:`models.nets.multistyle.MixedStylizer` (same call; its
    ``set_mix`` changes the blend in place).

    ``preserve_color`` (0..1) keeps that much of the input's chroma (:mod:`models.nets.color`); None
    uses the style file's own ``preserve_color`` (0 when it has none), so a style that was made to
    be rendered that way is, everywhere. The result is then a
    :class:`models.nets.color.ColorPreserving` around the network (same call, same attributes).
    """
    path, member = split_spec(name_or_path)
    dtype = dtype or default_dtype(device)
    meta = read_metadata(path)
    amount = file_preserve_color(meta, path) if preserve_color is None else float(preserve_color)
    if not is_multistyle(meta):
        if member is not None:
            raise UserError(f"style {str(name_or_path)!r}: {path.name} is a single style; expected NET:style only "
                            f"for a multi-style network")
        model, _meta = load_style(path, device=device, dtype=dtype)
        return with_preserve_color(model, amount)
    if member is None:
        names = style_names(meta)
        raise UserError(f"style {str(name_or_path)!r} is a multi-style network with styles {names}: expected "
                        f"{path.stem}:{names[0]} for one style or {path.stem}:{names[0]}=0.5,{names[-1]}=0.5 for a blend")
    net, _meta = load_multistyle(path, device=device, dtype=dtype)
    return with_preserve_color(stylizer_for(net, member), amount)


def file_preserve_color(meta: dict[str, Any], path: Path | str = "style") -> float:
    """The ``preserve_color`` a style file asks for (0 when absent); UserError when not in [0, 1]."""
    raw = meta.get("preserve_color", 0.0)
    try:
        amount = float(raw)
    except (TypeError, ValueError):
        amount = -1.0
    if not 0.0 <= amount <= 1.0:
        raise UserError(f"{path}: metadata preserve_color: expected a number in [0, 1], got {raw!r}")
    return amount


def style_preserve_color(name_or_path: str | os.PathLike) -> float:
    """The ``preserve_color`` the file behind a style spec asks for (:func:`file_preserve_color`)."""
    path = resolve_style(name_or_path)
    return file_preserve_color(read_metadata(path), path)


def with_preserve_color(model: nn.Module, amount: float) -> nn.Module:
    """``model`` itself for ``amount`` 0, else wrapped in :class:`models.nets.color.ColorPreserving`."""
    if not 0.0 <= amount <= 1.0:
        raise UserError(f"preserve_color: expected a value in [0, 1], got {amount}")
    return model if amount == 0.0 else ColorPreserving(model, amount=amount)


def stylizer_for(net: MultiStyleNet, member: str) -> MixedStylizer:
    """A member name or ``a=0.7,b=0.3`` blend of ``net`` -> stylizer sharing its weights."""
    return net.stylizer(parse_mix(member, net.style_names))


def load_network(name_or_path: str | os.PathLike, *, device: str | torch.device = "cpu",
                 dtype: torch.dtype | None = None) -> MultiStyleNet:
    """The multi-style network behind a spec (``NET``, ``NET:style`` or its path)."""
    path, _member = split_spec(name_or_path)
    net, _meta = load_multistyle(path, device=device, dtype=dtype or default_dtype(device))
    return net
