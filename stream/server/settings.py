"""Validation of live stream settings (style, temporal toggle, strength, blend, colours) from HTTP or the data channel."""
from __future__ import annotations

from typing import Any

from models.nets.mix import mix_dict, mix_weights
from stream.server.context import ServerContext


def parse_settings(ctx: ServerContext, body: Any, current_style: str | None = None) -> dict:
    """Validate a settings object; raises ValueError naming expected vs actual.

    ``mix`` (``{member: weight}`` or null) blends the members of the multi-style network of the
    style in the same request, else of ``current_style`` (the stream's); it comes back
    normalised to sum 1, non-zero weights only.
    """
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    out: dict = {}
    if "style" in body:
        if body["style"] not in ctx.catalog.names:
            raise ValueError(f"unknown style {body['style']!r}; expected one of {ctx.catalog.names}")
        out["style"] = body["style"]
    if "mix" in body:
        out["mix"] = _parse_mix(ctx, body["mix"], out.get("style", current_style))
    if "temporal" in body:
        if not isinstance(body["temporal"], bool):
            raise ValueError(f"temporal: expected true/false, got {body['temporal']!r}")
        out["temporal"] = body["temporal"]
    if "strength" in body:
        s = body["strength"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0.0 <= s <= 1.0:
            raise ValueError(f"strength: expected a number in [0,1], got {s!r}")
        out["strength"] = float(s)
    if "preserve_color" in body:  # null = the style's own setting
        c = body["preserve_color"]
        if c is not None and (isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 <= c <= 1.0):
            raise ValueError(f"preserve_color: expected null or a number in [0,1], got {c!r}")
        out["preserve_color"] = None if c is None else float(c)
    return out


def _parse_mix(ctx: ServerContext, mix: Any, style: str | None) -> dict[str, float] | None:
    if mix is None:
        return None
    members = ctx.catalog.members(style) if style is not None else ()
    if not members:
        raise ValueError(f"mix: expected a style of a multi-style network (one with members), got {style!r}")
    if not isinstance(mix, dict):
        raise ValueError(f"mix: expected an object {{style: weight}} over {list(members)}, got {mix!r}")
    return mix_dict(mix_weights(mix, members), members)  # MixError is a ValueError
