"""`stylecast serve`: WebRTC server (mirror a browser camera, or broadcast one stylized source)."""
from __future__ import annotations

import argparse
from pathlib import Path

from models.cli.options import add_device, add_preserve_color, add_threads
from models.errors import UserError


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "serve", help="serve a web page that stylizes a browser camera or broadcasts a stylized stream",
        description="WebRTC server. Mirror mode: a browser sends its camera and gets it back stylized. "
                    "Broadcast mode (--source): one source is stylized once and sent to many viewers.")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1; 0.0.0.0 exposes it)")
    p.add_argument("--port", type=int, default=8080, help="TCP port of the web page and the WebRTC signalling")
    p.add_argument("--source", help="broadcast source: photos | sample | webcam | webcam:N | whip (wait for a WHIP "
                                    "publisher, e.g. OBS) | a video file (default: none, mirror mode: each browser "
                                    "sends its own camera)")
    p.add_argument("--demo", action="store_true", help="broadcast the webcam if present, else the demo photos (slow camera move over the shipped photographs)")
    p.add_argument("--no-loop", dest="loop", action="store_false", help="play a file source once")
    p.add_argument("--size", default="640x480", help="WxH for the sample / webcam source (default 640x480)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of the sample source")
    p.add_argument("--record-to", type=Path, help="record the broadcast output to this .mp4 (default: no recording)")
    p.add_argument("--style", help="initial style (name from `stylecast styles` or a file; default: the bundled default)")
    add_preserve_color(p)
    p.add_argument("--no-temporal", dest="temporal", action="store_false", help="start with temporal blending off")
    p.add_argument("--strength", type=float, default=None,
                   help="temporal blending strength in [0,1] (default: the measured live default, 0.92)")
    p.add_argument("--max-peers", type=int, default=16,
                   help="most simultaneous browser connections; more are refused with HTTP 503 so that the "
                        "ones connected keep their frame rate")
    p.add_argument("--max-side", type=int, default=1280, help="downscale larger frames before stylizing")
    add_device(p)
    from models.cli.render import add_render_scale

    add_render_scale(p)
    add_threads(p)
    p.add_argument("--backend", choices=("auto", "eager", "compile"), default="auto",
                   help="how the networks run: compile = torch.compile per style and frame-size bucket, built in "
                        "the background while eager keeps serving, cached on disk across restarts (bf16 on a CPU "
                        "that has it); auto = compile, or eager on a CPU with STYLECAST_CPU_COMPILE=0 (default: auto)")
    p.add_argument("--token", help="broadcast control token (default: random, printed at start)")
    p.add_argument("--cert", type=Path, help="TLS certificate (browsers only allow cameras on https or localhost; "
                                             "default: plain http)")
    p.add_argument("--key", type=Path, help="TLS private key for --cert (default: none)")
    p.add_argument("--janus", metavar="URL", help="publish the broadcast once into a Janus VideoRoom (HTTP API URL, "
                   "e.g. http://127.0.0.1:8088/janus; see `stylecast janus-config`); viewers subscribe through Janus")
    p.add_argument("--janus-room", type=int, default=1234, help="VideoRoom room id (created if missing)")
    p.add_argument("--janus-page-url", metavar="URL", help="Janus's HTTP API as viewers' browsers reach it (default: --janus)")
    p.add_argument("--ice-server", action="append", default=[], metavar="URL",
                   help="STUN/TURN server for peers behind NAT, repeatable: stun:HOST:PORT, "
                        "turn:USER:PASS@HOST:PORT[?transport=tcp] (also given to the page; default: none)")
    p.set_defaults(func=run)


def parse_size(text: str) -> tuple[int, int]:
    """``--size WxH`` -> ``(h, w)``; also used by ``stylecast demo``."""
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit() or int(w) < 16 or int(h) < 16:
        raise UserError(f"--size: expected WxH such as 640x480, got {text!r}")
    return int(h), int(w)


def _render(args: argparse.Namespace, device: str):  # -> RenderScale
    from models.cli.render import render_from_args

    return render_from_args(args, device)


def run(args: argparse.Namespace) -> int:

    from stream.server.config import ServerConfig
    from stream.server.runner import demo_config, serve

    from models.devices import pick_device

    device = pick_device(args.device)
    from models.cli.options import apply_cpu_threads

    note = apply_cpu_threads(args.threads, device)
    if note:
        print(f"stylecast serve: {note}")
    kw = dict(host=args.host, port=args.port, loop=args.loop, source_size=parse_size(args.size), source_fps=args.fps,
              record_to=args.record_to, style=args.style, temporal=args.temporal,
              max_peers=args.max_peers, max_side=args.max_side, device=device,
              preserve_color=args.preserve_color, render=_render(args, device), backend=args.backend)
    from stream.server.ice import parse_ice_server

    try:
        kw["ice_servers"] = tuple(parse_ice_server(u) for u in args.ice_server)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    kw.update(janus_url=args.janus, janus_room=args.janus_room, janus_page_url=args.janus_page_url)
    if args.token:
        kw["token"] = args.token
    if args.strength is not None:
        kw["strength"] = args.strength
    if args.record_to is not None and args.source is None and not args.demo:
        raise UserError("--record-to records the broadcast: expected --source or --demo as well")
    try:
        if args.demo:
            config = demo_config(**kw)
            if args.source:
                config = ServerConfig(**{**config.__dict__, "source": args.source})
        else:
            config = ServerConfig(source=args.source, **kw)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    ssl_context = None
    if args.cert or args.key:
        if not (args.cert and args.key):
            raise UserError("--cert and --key: expected both, got one")
        import ssl

        ssl_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            ssl_context.load_cert_chain(args.cert, args.key)
        except (OSError, ssl.SSLError) as exc:
            raise UserError(f"--cert/--key: expected a PEM certificate and key, got {exc}") from None
    return serve(config, ssl_context=ssl_context)
