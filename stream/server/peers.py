"""Peer registry: admission (max peers), lookup, and complete cleanup.

A peer is gone when its connection fails or closes, when the browser says so (data channel
"bye" / POST /close) or at shutdown. :meth:`PeerRegistry.close` is idempotent and releases
everything the peer owned: relay proxy, tracks (which cancel their reader tasks), its temporal
blender (dropped with its :class:`StreamState`) and the RTCPeerConnection.
"""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Callable

from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from stream.server.tracks import StreamState


class PeersFull(Exception):
    pass


@dataclass(eq=False)
class Peer:
    pc: RTCPeerConnection
    mode: str  # "mirror" | "view"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: StreamState | None = None  # mirror peers only: the broadcast state is shared
    tracks: list[MediaStreamTrack] = field(default_factory=list)
    on_close: list[Callable[[], None]] = field(default_factory=list)
    closed: bool = False
    timer: asyncio.TimerHandle | None = None


class PeerRegistry:
    def __init__(self, max_peers: int, connect_timeout: float = 20.0) -> None:
        self.max_peers = max_peers
        self.connect_timeout = connect_timeout
        self._peers: dict[str, Peer] = {}
        self._closing: set[asyncio.Task] = set()

    def __len__(self) -> int:
        return len(self._peers)

    def __iter__(self):
        return iter(list(self._peers.values()))

    def get(self, peer_id: str) -> Peer | None:
        return self._peers.get(peer_id)

    def admit(self, pc: RTCPeerConnection, mode: str) -> Peer:
        if len(self._peers) >= self.max_peers:
            raise PeersFull(f"server full: {len(self._peers)} of {self.max_peers} peers connected")
        peer = Peer(pc=pc, mode=mode)
        self._peers[peer.id] = peer

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close(peer)

        # A client that sends an offer and vanishes before ICE/DTLS completes would otherwise hold
        # its slot until ICE gives up (~30 s); a timer handle (not a task) costs nothing to cancel.
        def _deadline() -> None:
            if pc.connectionState != "connected":
                self.close_soon(peer)

        peer.timer = asyncio.get_running_loop().call_later(self.connect_timeout, _deadline)

        return peer

    def close_soon(self, peer: Peer) -> None:
        """Schedule :meth:`close` from a sync callback, keeping a reference so the task is not lost."""
        task = asyncio.ensure_future(self.close(peer))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close(self, peer: Peer) -> None:
        if peer.closed:
            return
        peer.closed = True
        if peer.timer is not None:
            peer.timer.cancel()
        self._peers.pop(peer.id, None)
        for cb in peer.on_close:
            cb()
        for t in peer.tracks:
            t.stop()
        peer.tracks.clear()
        peer.state = None
        await peer.pc.close()

    async def close_all(self) -> None:
        await asyncio.gather(*(self.close(p) for p in list(self._peers.values())), return_exceptions=True)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
