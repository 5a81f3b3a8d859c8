"""JSON error responses and request-body parsing shared by every route of the server.

Every client mistake becomes a 4xx with ``{"error": "<one line>"}``; nothing a client sends may
reach a 5xx.
"""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def error(status: int, message: str) -> web.Response:
    """``{"error": message}`` with ``status``."""
    return web.json_response({"error": message}, status=status)


def _json_http(cls: type[web.HTTPException], message: str, **kw: Any) -> web.HTTPException:
    return cls(text=json.dumps({"error": message}), content_type="application/json", **kw)


async def read_json(request: web.Request, *, max_bytes: int) -> Any:
    """The request's JSON body; raises 400 (invalid JSON) or 413 (over ``max_bytes``, which the
    app's ``client_max_size`` enforces) with a JSON error body."""
    try:
        return await request.json()
    except (ValueError, RecursionError) as exc:  # invalid JSON or UTF-8, nesting too deep for the parser
        raise _json_http(web.HTTPBadRequest, f"expected a JSON body, got invalid JSON ({exc})") from None
    except web.HTTPRequestEntityTooLarge:
        raise _json_http(web.HTTPRequestEntityTooLarge, f"request too large: expected at most {max_bytes} bytes",
                         max_size=max_bytes, actual_size=request.content_length or 0) from None
