"""Serve until SIGINT/SIGTERM, then shut down gracefully (peers hung up, worker joined, file finalized)."""
from __future__ import annotations

import asyncio
import signal
import ssl
from dataclasses import replace
from typing import Callable, Sequence

from aiohttp import web

from models.errors import UserError
from stream.server.config import ServerConfig
from stream.server.styles import StyleInfo
from stream.server.worker import StylizerFactory


def urls(config: ServerConfig, scheme: str = "http") -> dict[str, str]:
    host = "localhost" if config.host in ("127.0.0.1", "::1", "localhost") else config.host
    host = "<this-machine>" if host in ("0.0.0.0", "::") else host
    root = f"{scheme}://{host}:{config.port}/"
    out = {"page": root}
    if config.source is not None:
        out["viewers"] = f"{root}#view"
        out["control"] = f"{root}#view&token={config.token}"
    return out


def demo_config(**overrides: object) -> ServerConfig:
    """`stylecast serve --demo`: broadcast the webcam when there is one, else the demo photos
    (a slow camera move over the shipped photographs, models.io.photo_clip)."""
    from stream.server.sources import webcam_available

    source = "webcam" if webcam_available() else "photos"
    return replace(ServerConfig(source=source), **overrides)  # type: ignore[arg-type]


async def serve_async(config: ServerConfig, *, stylizer_factory: StylizerFactory | None = None,
                      styles: Sequence[str | StyleInfo] | None = None, ssl_context: ssl.SSLContext | None = None,
                      announce: Callable[[str], None] = print, stop: asyncio.Event | None = None) -> None:
    from stream.server.app import create_app

    app = create_app(config, stylizer_factory, styles=styles)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context, shutdown_timeout=5.0)
        try:
            await site.start()
        except OSError as exc:
            raise UserError(f"cannot listen on {config.host}:{config.port}: expected a free port, got {exc.strerror}") from exc
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread / not supported
                pass
        u = urls(config, "https" if ssl_context else "http")
        announce(f"stylecast serve: open {u['page']}")
        if "viewers" in u:
            announce(f"  viewers (no token needed): {u['viewers']}")
            announce(f"  broadcast control token:   {config.token}")
            announce(f"  control page:              {u['control']}")
        root = u["page"].rstrip("/")
        if config.source == "whip":
            announce(f"  WHIP ingest (OBS: WHIP):   {root}/whip  bearer token: {config.token}")
        if config.source is not None:
            announce(f"  WHEP playback:             {root}/whep")
        if config.janus_url is not None:
            announce(f"  publishing into Janus:     {config.janus_url} room {config.janus_room} (state in /stats)")
        if config.record_to is not None:
            announce(f"  recording broadcast to:    {config.record_to}")
        announce("  press Ctrl+C to stop")
        await stop.wait()
        announce("stylecast serve: shutting down")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                asyncio.get_running_loop().remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):
                pass
        await runner.cleanup()


def serve(config: ServerConfig, **kw: object) -> int:
    asyncio.run(serve_async(config, **kw))  # type: ignore[arg-type]
    return 0


def demo(**overrides: object) -> int:
    """What `make demo` can call: broadcast mode on the webcam or the embedded sample."""
    return serve(demo_config(**overrides))
