"""aiohttp application: the page, signaling (aiortc example convention), styles, stats, control.

Routes (documented in docs/webrtc.md):
  GET  /                       the page (stream/web/)
  GET  /styles                 {"styles": [{"name","description","thumbnail","network","members","preserve_color"}], "default", "broadcast"}
  GET  /styles/{name}/thumb.jpg
  POST /offer                  {"sdp","type":"offer","mode":"mirror"|"view","style"?} -> {"sdp","type","peer_id",...}
  GET  /stats[?peer=ID]        latency percentiles (receive -> send), fps, peers, drops
  POST /peer/{id}/settings     mirror peer: {"style"?,"temporal"?,"strength"?,"mix"?} (also over the data channel)
  POST /peer/{id}/close        hang up now (the page calls it on unload)
  POST /control                broadcast settings; needs "Authorization: Bearer TOKEN"
  POST /whip, POST /whep       WHIP ingest / WHEP playback (application/sdp), see stream/server/whip.py
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from aiohttp import web

from stream.janus.publisher import page_webrtc, start_publisher
from stream.server.broadcast import Broadcaster
from stream.server.config import ServerConfig
from stream.server.context import ServerContext
from stream.server.peers import PeerRegistry
from stream.server.responses import error, read_json
from stream.server.settings import parse_settings
from stream.server.signaling import handle_offer
from stream.server.styles import StyleCatalog, StyleInfo, registry_catalog, render_thumbnail, thumbnail_source
from stream.server.tracks import StreamState
from stream.server.whip import WhipIngest, add_routes as add_whip_whep
from stream.server.whip_source import WhipSource
from stream.server.worker import StyleWorker, StylizerFactory

CTX = web.AppKey("stylecast", ServerContext)
WEB_DIR = Path(__file__).resolve().parents[1] / "web"


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(WEB_DIR / "index.html")


async def favicon(request: web.Request) -> web.FileResponse:  # browsers ask at the root, whatever the page says
    return web.FileResponse(WEB_DIR / "favicon.ico", headers={"Cache-Control": "max-age=86400"})


async def list_styles(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    b = ctx.broadcaster
    return web.json_response({
        "styles": [{"name": s.name, "description": s.description, "thumbnail": f"/styles/{quote(s.name, safe='')}/thumb.jpg",
                    "network": s.network or None, "members": list(s.members), "preserve_color": s.preserve_color}
                   for s in ctx.catalog.styles],
        "default": ctx.config.style or ctx.catalog.default,  # what a mirror peer gets without a style
        "mirror_defaults": {"temporal": ctx.config.temporal, "strength": ctx.config.strength},
        "broadcast": None if b is None else {**b.state.settings(), "source": b.source.description},
        **page_webrtc(ctx.config),  # "janus" (where the page subscribes) and "ice_servers"
    })


async def thumbnail(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    name = request.match_info["name"]
    if name not in ctx.catalog.names:
        return error(404, f"unknown style {name!r}; expected one of {ctx.catalog.names}")
    if name not in ctx.thumbs:
        if ctx.thumb_source is None:
            ctx.thumb_source = await ctx.worker.run(thumbnail_source)
        ctx.thumbs[name] = await ctx.worker.run(render_thumbnail, ctx.worker, ctx.thumb_source, name)
    return web.Response(body=ctx.thumbs[name], content_type="image/jpeg",
                        headers={"Cache-Control": "max-age=3600"})


async def offer(request: web.Request) -> web.Response:
    return await handle_offer(request, request.app[CTX])


def server_backend(choice: str, device: str) -> str:
    """auto: compile, built in the background (models.backends.background) while eager serves;
    on a CPU eager when ``STYLECAST_CPU_COMPILE=0``."""
    if choice == "auto":
        from models.backends.background import cpu_compile_enabled

        return "compile" if str(device).startswith("cuda") or cpu_compile_enabled() else "eager"
    return choice


def compile_cache_dir() -> str:
    from models.backends.cache import default_cache_dir

    return str(default_cache_dir())


async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[CTX].stats(request.query.get("peer")))


async def peer_settings(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    peer = ctx.peers.get(request.match_info["id"])
    if peer is None or peer.state is None:
        return error(404, f"no mirror peer {request.match_info['id']!r}")
    try:
        peer.state.update(**parse_settings(ctx, await read_json(request, max_bytes=ctx.config.max_request_bytes), peer.state.style))
    except ValueError as exc:
        return error(400, str(exc))
    return web.json_response(peer.state.settings())


async def peer_close(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    peer = ctx.peers.get(request.match_info["id"])
    if peer is not None:
        await ctx.peers.close(peer)
    return web.json_response({"closed": peer is not None})


async def control(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    if ctx.broadcaster is None:  # no broadcast, no token printed: nothing to authorise (docs/webrtc.md)
        return error(409, "no broadcast running: start the server with --source (sample, webcam or a file)")
    auth = request.headers.get("Authorization", "")
    if not secrets.compare_digest(auth.encode("utf-8", "replace"), f"Bearer {ctx.config.token}".encode()):
        return error(401, "broadcast control: expected header 'Authorization: Bearer <token printed at start>'")
    try:
        ctx.broadcaster.state.update(**parse_settings(ctx, await read_json(request, max_bytes=ctx.config.max_request_bytes), ctx.broadcaster.state.style))
    except ValueError as exc:
        return error(400, str(exc))
    return web.json_response(ctx.broadcaster.state.settings())


def create_app(
    config: ServerConfig,
    stylizer_factory: StylizerFactory | None = None,
    *,
    styles: Sequence[str | StyleInfo] | None = None,
) -> web.Application:
    """The server as an aiohttp app (tests run it in-process with ``aiohttp.test_utils``).

    ``stylizer_factory(name) -> Callable[[Tensor], Tensor]`` is called on the worker thread; with
    no factory, styles come from ``models.styles.registry``. ``styles`` names the factory's styles.
    """
    if stylizer_factory is None:
        catalog = registry_catalog(device=config.device, preserve_color=config.preserve_color)
    else:
        infos = tuple(s if isinstance(s, StyleInfo) else StyleInfo(s) for s in (styles or ("custom",)))
        catalog = StyleCatalog(infos, stylizer_factory)
    first_style = catalog.validate(config.style) if config.style is not None else catalog.default

    source = None
    if config.source is not None:
        from stream.server.sources import open_source

        source = open_source(config.source, size=config.source_size, fps=config.source_fps, loop=config.loop,
                             sample_frames=config.sample_frames)

    app = web.Application(client_max_size=config.max_request_bytes)

    async def on_startup(app: web.Application) -> None:
        from models.cli.render import default_render

        worker = StyleWorker(catalog.factory, device=config.device, max_side=config.max_side,
                             render=config.render or default_render(config.device),
                             backend=server_backend(config.backend, config.device), cache_dir=compile_cache_dir())
        ctx = ServerContext(config=config, catalog=catalog, worker=worker, peers=PeerRegistry(config.max_peers, config.connect_timeout))
        worker.submit(worker.stylizer, first_style)  # load the first model while the page loads
        if source is not None:
            recorder = None
            if config.record_to is not None:
                from stream.server.recorder import Recorder

                recorder = Recorder(Path(config.record_to), source.fps)
            state = StreamState(style=first_style, temporal=config.temporal, strength=config.strength,
                                stats_window=config.stats_window)
            ctx.broadcaster = Broadcaster(source, worker, state, recorder)
            if isinstance(source, WhipSource):
                ctx.whip = WhipIngest(source, config.token, config.ice_servers, config.connect_timeout)
            ctx.broadcaster.start()
            if config.janus_url is not None:
                ctx.janus = start_publisher(config, ctx.broadcaster)
        app[CTX] = ctx

    async def on_shutdown(app: web.Application) -> None:
        await app[CTX].peers.close_all()

    async def on_cleanup(app: web.Application) -> None:
        ctx = app[CTX]
        if ctx.janus is not None:
            await ctx.janus.close()  # leave the room while the track still runs
        if ctx.whip is not None:
            await ctx.whip.close()  # also releases the broadcast's reader blocked on the next frame
        if ctx.broadcaster is not None:
            await ctx.broadcaster.close()
        ctx.worker.close()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.on_cleanup.append(on_cleanup)
    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_static("/static", WEB_DIR)
    app.router.add_get("/styles", list_styles)
    app.router.add_get("/styles/{name}/thumb.jpg", thumbnail)
    app.router.add_post("/offer", offer)
    app.router.add_get("/stats", stats)
    app.router.add_post("/peer/{id}/settings", peer_settings)
    app.router.add_post("/peer/{id}/close", peer_close)
    app.router.add_post("/control", control)
    add_whip_whep(app, CTX)  # POST /whip, /whep (+ DELETE, PATCH 405): stream/server/whip.py
    return app
