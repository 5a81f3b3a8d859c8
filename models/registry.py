"""Style registry: bundled styles (``models/styles/``) and the user's styles directory.

User styles live in ``$STYLECAST_STYLES_DIR`` (default ``~/.local/share/stylecast/styles``);
``stylecast train -o NAME`` writes there. A user style with a bundled name shadows the bundled
one. Anything that is an existing path is loaded as a file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.checkpoint import load_style, read_metadata
from models.contracts import default_dtype
from models.errors import UserError

BUNDLED_DIR = Path(__file__).resolve().parent / "styles"
DEFAULT_STYLE = "starry_night"


@dataclass(frozen=True)
class StyleEntry:
    name: str
    path: Path
    preset: str
    source: str  # "bundled" | "user"
    description: str
    loss_net: str = ""


def user_styles_dir() -> Path:
    env = os.environ.get("STYLECAST_STYLES_DIR")
    return Path(env).expanduser() if env else Path.home() / ".local" / "share" / "stylecast" / "styles"


def _scan(directory: Path, source: str) -> list[StyleEntry]:
    if not directory.is_dir():
        return []
    out = []
    for p in sorted(directory.glob("*.safetensors")):
        try:
            meta = read_metadata(p)
        except UserError:
            continue  # not ours / corrupt: skipped in listings, explained when loaded by path
        out.append(StyleEntry(name=p.stem, path=p, preset=str(meta.get("preset", "?")), source=source,
                              description=str(meta.get("description", "")), loss_net=str(meta.get("loss_net", ""))))
    return out


def list_styles() -> list[StyleEntry]:
    """Bundled then user styles, by name; a user style shadows a bundled one of the same name."""
    by_name: dict[str, StyleEntry] = {e.name: e for e in _scan(BUNDLED_DIR, "bundled")}
    by_name.update({e.name: e for e in _scan(user_styles_dir(), "user")})
    return sorted(by_name.values(), key=lambda e: (e.source != "bundled", e.name))


def resolve_style(name_or_path: str | os.PathLike) -> Path:
    """A style name or a checkpoint path -> path; UserError listing available names."""
    s = str(name_or_path)
    p = Path(s).expanduser()
    if p.is_file():
        return p
    for e in list_styles():
        if e.name == s:
            return e.path
    names = ", ".join(e.name for e in list_styles()) or "(none)"
    raise UserError(f"unknown style {s!r}: expected a style name ({names}) or a path to a .safetensors file")


def style_metadata(name_or_path: str | os.PathLike) -> dict[str, Any]:
    return read_metadata(resolve_style(name_or_path))


def load_stylizer(name_or_path: str | os.PathLike, *, device: str | torch.device = "cpu",
                  dtype: torch.dtype | None = None) -> nn.Module:
    """Style network, eval mode, no grad, on ``device``/``dtype`` (default by device convention).

    Call it with frames ``(N,3,H,W)`` RGB [0,1] of the same dtype; returns the same shape.
    """
    model, _meta = load_style(resolve_style(name_or_path), device=device,
                              dtype=dtype or default_dtype(device))
    return model
