"""Server settings (frozen: one value per process, passed explicitly, never global)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

from models.guided import RenderScale
from stream.server.temporal import DEFAULT_STRENGTH


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"  # loopback by default: exposing a camera stream is an explicit choice (--host)
    port: int = 8080
    # Broadcast source: None (mirror only), "sample", "webcam", "webcam:N" or a video file path.
    source: str | None = None
    loop: bool = True  # loop a file source
    source_size: tuple[int, int] = (480, 640)  # (h, w) for the sample / webcam request
    source_fps: float = 30.0  # pacing of the sample source (files use their own fps)
    sample_frames: int = 48  # length of the embedded sample clip (rendered once, played ping-pong)
    record_to: Path | None = None
    style: str | None = None  # initial style; None = first style of the catalog
    temporal: bool = True
    strength: float = DEFAULT_STRENGTH
    max_peers: int = 16
    connect_timeout: float = 20.0  # seconds from /offer to a connected peer before it is dropped
    max_side: int = 1280  # frames larger than this are downscaled before stylization (bounds compute)
    max_request_bytes: int = 64 * 1024  # an SDP offer is a few KiB; anything larger is refused (413)
    device: str = "cpu"
    # Colour preservation for every style served (models.nets.color); None = what each style file says.
    preserve_color: float | None = None
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))  # broadcast control
    stats_window: int = 300  # frames kept for latency percentiles
    # Publish the broadcast once into this Janus VideoRoom (HTTP API URL, e.g. http://HOST:8088/janus);
    # viewers subscribe through Janus. janus_page_url: the same API as the viewers' browsers reach it.
    janus_url: str | None = None
    janus_room: int = 1234
    janus_page_url: str | None = None
    ice_servers: tuple = ()  # stream.server.ice.IceServer, for every server peer and the page
    render: RenderScale | None = None  # the network's size (models.guided); None = the device's default
    # "eager", or "compile": a torch.compile backend per style and size bucket, built in the
    # background while eager serves (stream.server.compiled); "auto" = compile on CUDA, eager on CPU.
    backend: str = "auto"

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ValueError(f"port must be in 1..65535, got {self.port}")
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"strength must be in [0,1], got {self.strength}")
        if self.max_peers < 1:
            raise ValueError(f"max_peers must be >= 1, got {self.max_peers}")
        if self.max_side < 16:
            raise ValueError(f"max_side must be >= 16, got {self.max_side}")
        if self.preserve_color is not None and not 0.0 <= self.preserve_color <= 1.0:
            raise ValueError(f"preserve_color must be in [0,1], got {self.preserve_color}")
        if self.janus_url is not None and not self.janus_url.startswith(("http://", "https://")):
            raise ValueError(f"--janus: expected the HTTP API URL such as http://127.0.0.1:8088/janus, got {self.janus_url!r}")
        if self.janus_page_url is not None and not self.janus_page_url.startswith(("http://", "https://")):
            raise ValueError(f"--janus-page-url: expected an http(s) URL, got {self.janus_page_url!r}")
        if self.janus_url is not None and self.source is None:
            raise ValueError("--janus publishes the broadcast: expected --source (or --demo) as well")
        if not 0 < self.janus_room < 2**53:
            raise ValueError(f"--janus-room: expected a positive integer, got {self.janus_room}")
        if self.source_fps <= 0:
            raise ValueError(f"source_fps must be > 0, got {self.source_fps}")
