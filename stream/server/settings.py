"""Validation of live stream settings (style, temporal toggle, strength) from HTTP or the data channel."""
from __future__ import annotations

from typing import Any

from stream.server.context import ServerContext


def parse_settings(ctx: ServerContext, body: Any) -> dict:
    """Validate a settings object; raises ValueError naming expected vs actual."""
    if not isinstance(body, dict):
        raise ValueError(f"expected a JSON object, got {type(body).__name__}")
    out: dict = {}
    if "style" in body:
        if body["style"] not in ctx.catalog.names:
            raise ValueError(f"unknown style {body['style']!r}; expected one of {ctx.catalog.names}")
        out["style"] = body["style"]
    if "temporal" in body:
        if not isinstance(body["temporal"], bool):
            raise ValueError(f"temporal: expected true/false, got {body['temporal']!r}")
        out["temporal"] = body["temporal"]
    if "strength" in body:
        s = body["strength"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0.0 <= s <= 1.0:
            raise ValueError(f"strength: expected a number in [0,1], got {s!r}")
        out["strength"] = float(s)
    return out
