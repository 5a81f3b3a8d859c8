"""``--ice-server URL``: STUN/TURN servers for the server's peer connections and the page.

Accepted forms (credentials only for ``turn:``/``turns:``; RFC 7064/7065 URIs otherwise):
  stun:HOST[:PORT]
  turn:USER:PASSWORD@HOST[:PORT][?transport=udp|tcp]
  turn:HOST[:PORT][?transport=udp|tcp]&username=USER&credential=PASSWORD   (or ?username=...)
USER and PASSWORD may be percent-encoded (``%40`` for ``@``, ``%3A`` for ``:``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlencode

from aiortc import RTCConfiguration, RTCIceServer

_HOSTPORT = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


@dataclass(frozen=True)
class IceServer:
    url: str  # without credentials
    username: str | None = None
    credential: str | None = None

    def rtc(self) -> RTCIceServer:
        return RTCIceServer(urls=self.url, username=self.username, credential=self.credential)

    def page(self) -> dict:
        """As the browser's RTCPeerConnection wants it."""
        out: dict = {"urls": self.url}
        if self.username is not None:
            out.update(username=self.username, credential=self.credential)
        return out


def parse_ice_server(text: str) -> IceServer:
    scheme, sep, rest = text.partition(":")
    if not sep or scheme not in ("stun", "stuns", "turn", "turns"):
        raise ValueError(f"--ice-server: expected stun:HOST[:PORT] or turn:USER:PASS@HOST[:PORT], got {text!r}")
    rest, _, query = rest.partition("?")
    params = dict(parse_qsl(query, keep_blank_values=True))
    user = params.pop("username", None)
    cred = params.pop("credential", None)
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        u, sep2, p = userinfo.partition(":")
        if not sep2 or not u:
            raise ValueError(f"--ice-server: expected USER:PASSWORD@ before the host, got {text!r}")
        user, cred = unquote(u), unquote(p)
    if not _HOSTPORT.match(rest) or (rest.count(":") and rest.rsplit(":", 1)[1].isdigit()
                                     and not 0 < int(rest.rsplit(":", 1)[1]) < 65536):
        raise ValueError(f"--ice-server: expected HOST[:PORT] after {scheme}:, got {rest!r} in {text!r}")
    if set(params) - {"transport"} or params.get("transport", "udp") not in ("udp", "tcp"):
        raise ValueError(f"--ice-server: expected only ?transport=udp|tcp (and username/credential), got {query!r}")
    if scheme.startswith("stun") and (user or cred):
        raise ValueError(f"--ice-server: a stun: server takes no credentials, got {text!r}")
    if scheme.startswith("turn") and (user is None or cred is None):
        raise ValueError(f"--ice-server: a {scheme}: server needs credentials (turn:USER:PASS@HOST:PORT), got {text!r}")
    url = f"{scheme}:{rest}" + (f"?{urlencode(params)}" if params else "")
    return IceServer(url, user, cred)


def rtc_configuration(servers: tuple[IceServer, ...]) -> RTCConfiguration:
    # An empty list, not aiortc's default: its default STUN server (stun.l.google.com) is
    # unreachable offline and stalls candidate gathering.
    return RTCConfiguration(iceServers=[s.rtc() for s in servers])
