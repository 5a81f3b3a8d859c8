"""--ice-server: parsing (stun:, turn: with both credential forms), errors, and where it goes
(server peer connections, the page's /styles)."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient, TestServer

from stream.server.app import create_app
from stream.server.config import ServerConfig
from stream.server.ice import IceServer, parse_ice_server
from stream.server.signaling import new_peer_connection


@pytest.mark.parametrize("text,want", [
    ("stun:stun.example.org:3478", IceServer("stun:stun.example.org:3478")),
    ("stun:10.0.0.1", IceServer("stun:10.0.0.1")),
    ("turn:alice:pa55@turn.example.org:3478", IceServer("turn:turn.example.org:3478", "alice", "pa55")),
    ("turn:al%40x:p%3Aw@10.0.0.1:3478?transport=tcp", IceServer("turn:10.0.0.1:3478?transport=tcp", "al@x", "p:w")),
    ("turn:h.example:3478?transport=udp&username=u&credential=c", IceServer("turn:h.example:3478?transport=udp", "u", "c")),
    ("turns:[2001:db8::1]:5349?username=u&credential=c", IceServer("turns:[2001:db8::1]:5349", "u", "c")),
])
def test_parse_ice_server(text, want):
    assert parse_ice_server(text) == want


@pytest.mark.parametrize("text,msg", [
    ("http://x", "expected stun:HOST"), ("", "expected stun:HOST"), ("turn:h:3478", "needs credentials"),
    ("stun:u:p@h", "takes no credentials"), ("turn:u:p@h:99999", "HOST[:PORT]"), ("stun:h?foo=1", "transport"),
    ("turn:u:p@h?transport=sctp", "transport"), ("turn:nopass@h", "USER:PASSWORD@"), ("stun:bad host", "HOST[:PORT]"),
])
def test_parse_ice_server_errors(text, msg):
    with pytest.raises(ValueError, match="--ice-server") as e:
        parse_ice_server(text)
    assert msg in str(e.value)


def test_ice_servers_reach_server_peers_and_page():
    servers = (parse_ice_server("stun:10.9.9.9:3478"), parse_ice_server("turn:u:p@10.9.9.9:3478?transport=tcp"))
    pc = new_peer_connection(servers)
    got = [(s.urls, s.username, s.credential) for s in pc._RTCPeerConnection__configuration.iceServers]  # aiortc has no getter
    assert got == [("stun:10.9.9.9:3478", None, None), ("turn:10.9.9.9:3478?transport=tcp", "u", "p")]
    assert new_peer_connection()._RTCPeerConnection__configuration.iceServers == []  # never aiortc's public default

    async def main():
        app = create_app(ServerConfig(ice_servers=servers), lambda n: (lambda x: x), styles=["id"])
        async with TestClient(TestServer(app)) as client:
            r = await client.get("/styles")
            data = await r.json()
        assert data["ice_servers"] == [{"urls": "stun:10.9.9.9:3478"},
                                       {"urls": "turn:10.9.9.9:3478?transport=tcp", "username": "u", "credential": "p"}]
        assert data["janus"] is None

    asyncio.run(asyncio.wait_for(main(), 30))
