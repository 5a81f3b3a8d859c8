"""Style mixes for multi-style networks: validation, the ``a=0.7,b=0.3`` text form.

A mix is a point of the simplex over a network's styles: non-negative weights summing to 1
(Dumoulin, Shlens & Kudlur 2017, §4: a convex combination of the per-style normalisation
parameters blends the styles). Users may give any non-negative weights; they are normalised
here, once, so every consumer sees the same canonical form.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence, Union

from torch import Tensor

from models.errors import UserError

MixLike = Union[Mapping[str, float], Sequence[float], Tensor]


class MixError(UserError, ValueError):
    """An invalid style mix (unknown name, negative or non-finite weight, all zero, wrong length).

    A ``UserError`` for the CLI and a ``ValueError`` for servers validating requests.
    """


def mix_weights(mix: MixLike, names: Sequence[str]) -> tuple[float, ...]:
    """Validate ``mix`` against the network's style ``names``; return the normalised weights.

    ``mix`` is ``{name: weight}`` (missing names weigh 0), a sequence of ``len(names)`` weights
    or a 1-D tensor of that length.
    """
    names = list(names)
    if isinstance(mix, Mapping):
        unknown = [k for k in mix if k not in names]
        if unknown:
            raise MixError(f"style mix: unknown style {unknown[0]!r}; expected names from {names}")
        raw = [mix.get(n, 0.0) for n in names]
    elif isinstance(mix, Tensor):
        if mix.ndim != 1 or mix.numel() != len(names):
            raise MixError(f"style mix: expected a tensor of shape ({len(names)},) for styles {names}, "
                           f"got {tuple(mix.shape)}")
        raw = [float(v) for v in mix.detach().cpu().double()]
    elif isinstance(mix, (str, bytes)):
        raise MixError(f"style mix: expected a mapping or weights, got the string {mix!r} (use parse_mix)")
    else:
        raw = list(mix)
        if len(raw) != len(names):
            raise MixError(f"style mix: expected {len(names)} weights for styles {names}, got {len(raw)}")
    out: list[float] = []
    for n, v in zip(names, raw):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise MixError(f"style mix: weight of {n!r} must be a number, got {v!r}")
        try:
            f = float(v)
        except OverflowError:  # a JSON integer like 10**400
            f = math.inf
        if not math.isfinite(f) or f < 0:
            raise MixError(f"style mix: weight of {n!r} must be finite and >= 0, got {f:g}")
        out.append(f)
    top = max(out)
    if top <= 0:
        raise MixError(f"style mix: expected at least one positive weight over {names}, got all zero")
    # scale by the largest weight first: the sum of huge finite weights (1e308 + 1e308) overflows
    scaled = [v / top for v in out]
    total = math.fsum(scaled)
    return tuple(v / total for v in scaled)


def one_hot(name: str, names: Sequence[str]) -> tuple[float, ...]:
    if name not in names:
        raise MixError(f"unknown style {name!r} in this network; expected one of {list(names)}")
    return tuple(1.0 if n == name else 0.0 for n in names)


def parse_mix(text: str, names: Sequence[str]) -> tuple[float, ...]:
    """``"a"`` (one style) or ``"a=0.7,b=0.3"`` (a blend; weights are normalised) -> weights."""
    text = text.strip()
    if not text:
        raise MixError(f"style mix: expected a style name or 'name=weight,...' over {list(names)}, got ''")
    if "=" not in text:
        return one_hot(text, names)
    weights: dict[str, float] = {}
    for part in text.split(","):
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise MixError(f"style mix: expected 'name=weight' items separated by commas, got {part!r} in {text!r}")
        if key in weights:
            raise MixError(f"style mix: style {key!r} given twice in {text!r}")
        try:
            weights[key] = float(val)
        except ValueError:
            raise MixError(f"style mix: weight of {key!r} must be a number, got {val.strip()!r}") from None
    return mix_weights(weights, names)


def format_mix(weights: Sequence[float], names: Sequence[str]) -> str:
    """The ``a=0.7,b=0.3`` form (non-zero weights only, 4 decimals); inverse of :func:`parse_mix`."""
    return ",".join(f"{n}={w:.4g}" for n, w in zip(names, weights) if w > 0)


def mix_dict(weights: Sequence[float], names: Sequence[str]) -> dict[str, float]:
    """Non-zero weights by name (JSON-friendly)."""
    return {n: float(w) for n, w in zip(names, weights) if w > 0}


def sweep_weights(path: Sequence[str], names: Sequence[str], position: float) -> tuple[float, ...]:
    """Weights at ``position`` along a closed tour of styles ``path`` (one unit per leg).

    ``position`` 0 is ``path[0]``, 0.5 the 50/50 blend of ``path[0]`` and ``path[1]``, 1 is
    ``path[1]``, ..., ``len(path)`` is ``path[0]`` again: a continuous walk through the
    normalisation-parameter space (Dumoulin et al. 2017, §4).
    """
    if len(path) < 2:
        raise MixError(f"style sweep: expected at least two styles, got {list(path)}")
    for p in path:
        one_hot(p, names)  # validates the name
    pos = position % len(path)
    k = int(pos)
    t = pos - k
    a, b = path[k], path[(k + 1) % len(path)]
    w = dict.fromkeys(names, 0.0)
    w[a] += 1.0 - t
    w[b] += t
    return mix_weights(w, names)
