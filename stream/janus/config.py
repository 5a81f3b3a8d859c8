"""`stylecast janus-config DIR`: a minimal Janus 1.x configuration for one broadcast room.

Only what a stylecast broadcast needs is loaded: the HTTP transport (bound to one address) and
the VideoRoom plugin; every other plugin, transport, logger and event handler found in Janus's
library folders is disabled (the stock config also opens websockets on 0.0.0.0:8188). With an
address, ICE is restricted to it too (``interface``, ``ice_enforce_list``), so media and API
share one interface. Without one, the API listens on 127.0.0.1 only and media uses the
machine's own addresses: Janus (like aioice) never offers loopback candidates, so binding media
to 127.0.0.1 would leave it none.
"""
from __future__ import annotations

import glob
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from models.errors import UserError

# Janus's own defaults when its library folders cannot be found (Debian multiarch layout).
_LIB_GLOBS = ("/usr/lib/*/janus", "/usr/lib/janus", "/usr/local/lib/janus", "/opt/janus/lib/janus")
_KNOWN = {  # used only when a folder is missing: names shipped by Janus 1.1
    "plugins": ["audiobridge", "duktape", "echotest", "lua", "nosip", "recordplay", "sip", "streaming",
                "textroom", "videocall", "videoroom", "voicemail"],
    "transports": ["http", "mqtt", "nanomsg", "pfunix", "rabbitmq", "websockets"],
    "events": ["gelfevh", "mqttevh", "nanomsgevh", "rabbitmqevh", "sampleevh", "wsevh"],
    "loggers": ["jsonlog"],
}
KEEP = {"plugins": "libjanus_videoroom.so", "transports": "libjanus_http.so"}


@dataclass(frozen=True)
class JanusConfig:
    address: str | None = None  # None: API on 127.0.0.1, media on the machine's non-loopback addresses
    http_port: int = 8088
    room: int = 1234
    rtp_ports: tuple[int, int] = (20000, 20200)
    lib_dir: str | None = None  # Janus's library root (plugins/, transports/, ...); None = search

    def __post_init__(self) -> None:
        try:
            if self.address is not None and ipaddress.ip_address(self.address).is_loopback:
                raise UserError(f"--address: Janus offers no loopback candidates, so media cannot use {self.address}; "
                                "give this machine's LAN address, or leave --address out (API on 127.0.0.1, "
                                "media on the machine's addresses)")
        except ValueError:
            raise UserError(f"--address: expected an IP address such as 192.168.1.10, got {self.address!r}") from None
        if not 0 < self.http_port < 65536:
            raise UserError(f"--http-port: expected 1..65535, got {self.http_port}")
        lo, hi = self.rtp_ports
        if not 1024 <= lo < hi < 65536:
            raise UserError(f"--rtp-ports: expected LOW-HIGH within 1024..65535, got {lo}-{hi}")
        if not 0 < self.room < 2**53:
            raise UserError(f"--room: expected a positive integer, got {self.room}")

    @property
    def url(self) -> str:
        addr = self.address or "127.0.0.1"
        host = f"[{addr}]" if ":" in addr else addr
        return f"http://{host}:{self.http_port}/janus"


def find_lib_dir() -> str | None:
    for pattern in _LIB_GLOBS:
        for d in sorted(glob.glob(pattern)):
            if Path(d, "plugins").is_dir():
                return d
    return None


def _modules(lib: str | None, kind: str) -> list[str]:
    if lib is not None and Path(lib, kind).is_dir():
        names = sorted({p.name.split(".so")[0] + ".so" for p in Path(lib, kind).glob("libjanus_*.so*")})
        if names:
            return names
    return [f"libjanus_{n}.so" for n in _KNOWN[kind]]


def render(cfg: JanusConfig, config_dir: Path) -> dict[str, str]:
    """File name -> contents of the configuration (``janus -F config_dir`` reads them)."""
    lib = cfg.lib_dir or find_lib_dir()
    disabled = {k: ",".join(m for m in _modules(lib, k) if m != KEEP.get(k)) for k in _KNOWN}
    folders = "" if lib is None else "".join(
        f'\t{k}_folder = "{lib}/{k}"\n' for k in ("plugins", "transports", "events", "loggers"))
    interface = f'\tinterface = "{cfg.address}"\n' if cfg.address else ""
    enforce = f'\tice_enforce_list = "{cfg.address}"\n' if cfg.address else ""
    main = (
        "# written by `stylecast janus-config`: HTTP API + VideoRoom only\n"
        "general: {\n"
        f'\tconfigs_folder = "{config_dir}"\n{folders}{interface}'
        "\tdebug_level = 4\n"
        "\tsession_timeout = 60\n"
        "}\n"
        "media: {\n"
        f'\trtp_port_range = "{cfg.rtp_ports[0]}-{cfg.rtp_ports[1]}"\n'
        "}\n"
        f"nat: {{\n\tnice_debug = false\n{enforce}}}\n"
        f'plugins: {{\n\tdisable = "{disabled["plugins"]}"\n}}\n'
        f'transports: {{\n\tdisable = "{disabled["transports"]}"\n}}\n'
        f'loggers: {{\n\tdisable = "{disabled["loggers"]}"\n}}\n'
        f'events: {{\n\tbroadcast = false\n\tdisable = "{disabled["events"]}"\n}}\n'
    )
    http = (
        "general: {\n\tjson = \"indented\"\n\tbase_path = \"/janus\"\n\thttp = true\n"
        f"\tport = {cfg.http_port}\n\tip = \"{cfg.address or '127.0.0.1'}\"\n\thttps = false\n}}\n"
        "admin: {\n\tadmin_base_path = \"/admin\"\n\tadmin_http = false\n\tadmin_https = false\n}\n"
        "cors: {\n}\n"
    )
    # One publisher (the stylecast broadcast); a restarted stylecast kicks its stale predecessor.
    room = (
        "general: {\n}\n"
        f"room-{cfg.room}: {{\n\tdescription = \"stylecast broadcast\"\n\tpublishers = 1\n"
        "\tbitrate = 2000000\n\tfir_freq = 2\n\tvideocodec = \"vp8\"\n\taudiocodec = \"opus\"\n"
        "\trecord = false\n}\n"
    )
    return {"janus.jcfg": main, "janus.transport.http.jcfg": http, "janus.plugin.videoroom.jcfg": room}


def write(cfg: JanusConfig, config_dir: Path) -> list[Path]:
    config_dir = config_dir.resolve()
    try:
        config_dir.mkdir(parents=True, exist_ok=True)
        out = []
        for name, text in render(cfg, config_dir).items():
            (config_dir / name).write_text(text)
            out.append(config_dir / name)
    except OSError as exc:
        raise UserError(f"janus-config: cannot write {config_dir}: {exc.strerror}") from None
    return out
