"""Everything one server instance owns (stored on the aiohttp app; no module globals)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stream.server.broadcast import Broadcaster
from stream.server.config import ServerConfig
from stream.server.peers import PeerRegistry
from stream.server.stats import merge
from stream.server.styles import StyleCatalog
from stream.server.worker import StyleWorker


@dataclass(eq=False)
class ServerContext:
    config: ServerConfig
    catalog: StyleCatalog
    worker: StyleWorker
    peers: PeerRegistry
    broadcaster: Broadcaster | None = None
    thumbs: dict[str, bytes] = field(default_factory=dict)
    thumb_source: np.ndarray | None = None
    started: float = field(default_factory=time.monotonic)
    janus: Any = None  # stream.janus.publisher.JanusPublisher when --janus
    whip: Any = None  # stream.server.whip.WhipIngest when --source whip

    def stats(self, peer_id: str | None = None) -> dict:
        mirrors = [p for p in self.peers if p.mode == "mirror" and p.state is not None]
        viewers = [p for p in self.peers if p.mode == "view"]
        streams = [p.state.stats for p in mirrors]  # type: ignore[union-attr]
        out: dict = {
            "peers": len(self.peers), "mirrors": len(mirrors), "viewers": len(viewers),
            "max_peers": self.config.max_peers, "uptime_s": round(time.monotonic() - self.started, 1),
            "worker_alive": self.worker.alive, "device": str(self.worker.device),
            "mirror": merge(streams), "broadcast": None,
            "render": self.worker.render_note(), "batch_mean": self.worker.batch_mean(),
        }
        b = self.broadcaster
        if b is not None:
            streams.append(b.state.stats)
            out["broadcast"] = {**b.state.stats.snapshot(), **b.state.settings(), "applied_mix": b.state.applied_mix,
                                "source": b.source.description,
                                "viewers": b.viewers, "recording": None, "error": b.error}
            if b.recorder is not None:
                r = b.recorder
                out["broadcast"]["recording"] = {"path": str(r.path), "frames": r.frames, "drops": r.drops,
                                                 "error": None if r.error is None else str(r.error)}
        out["janus"] = None if self.janus is None else self.janus.snapshot()
        if self.whip is not None:
            out["whip"] = self.whip.snapshot()
        total = merge(streams)
        out.update(fps=total["fps"], drops=total["drops"], frames=total["frames"], latency_ms=total["latency_ms"])
        if peer_id is not None:
            p = self.peers.get(peer_id)
            if p is not None:
                st = p.state if p.mode == "mirror" else (b.state if b is not None else None)
                out["peer"] = {"id": p.id, "mode": p.mode, **(st.stats.snapshot() if st else {}),
                               **(st.settings() if st else {}), "applied_mix": st.applied_mix if st else None}
        return out
