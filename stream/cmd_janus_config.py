"""`stylecast janus-config DIR`: write a minimal Janus configuration for `serve --janus`."""
from __future__ import annotations

import argparse
from pathlib import Path

from models.errors import UserError


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "janus-config", help="write a minimal Janus Gateway configuration (HTTP API + VideoRoom) for serve --janus",
        description="Writes janus.jcfg, janus.transport.http.jcfg and janus.plugin.videoroom.jcfg to DIR: the HTTP "
                    "API and media bound to one address, only the VideoRoom plugin and the HTTP transport loaded. "
                    "Then run `janus -F DIR` and `stylecast serve --source ... --janus URL`.")
    p.add_argument("dir", type=Path, help="folder to write (created if missing)")
    p.add_argument("--address", default=None,
                   help="IP address for the HTTP API and media, one your viewers reach (default: API on 127.0.0.1, "
                        "media on this machine's own addresses; Janus never offers loopback media candidates)")
    p.add_argument("--http-port", type=int, default=8088, help="TCP port of Janus's HTTP API")
    p.add_argument("--room", type=int, default=1234, help="VideoRoom room id (default 1234)")
    p.add_argument("--rtp-ports", default="20000-20200", help="UDP port range for media (default 20000-20200)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from stream.janus.config import JanusConfig, write

    lo, sep, hi = args.rtp_ports.partition("-")
    if not sep or not lo.isdigit() or not hi.isdigit():
        raise UserError(f"--rtp-ports: expected LOW-HIGH such as 20000-20200, got {args.rtp_ports!r}")
    cfg = JanusConfig(address=args.address, http_port=args.http_port, room=args.room, rtp_ports=(int(lo), int(hi)))
    files = write(cfg, args.dir)
    print(f"wrote {', '.join(f.name for f in files)} to {args.dir}")
    print(f"start Janus:     janus -F {args.dir.resolve()}")
    print(f"then stylecast:  stylecast serve --source sample --janus {cfg.url} --janus-room {cfg.room}")
    return 0
