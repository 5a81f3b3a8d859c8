"""--ice-server with a real TURN server: Debian's coturn, started here inside a network namespace
(tests/janus_env.py's veth helper; nothing leaves the machine). The server's peer connections
allocate a relay on it with the configured credentials (a `typ relay` candidate in the answer
the page gets), and wrong credentials give none. Skips without coturn or root."""
from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time

import pytest
from aiohttp.test_utils import TestServer

from janus_env import _netns, _teardown
from stream.server.app import create_app
from stream.server.client import connect
from stream.server.config import ServerConfig
from stream.server.ice import parse_ice_server

TURN_PORT = 3478


@pytest.fixture(scope="module")
def turn_ip(tmp_path_factory):
    if shutil.which("turnserver") is None:
        pytest.skip("coturn not installed (Debian: apt-get install coturn; .ci/run installs it)")
    ns, host_if, _host_ip, ns_ip = _netns(tmp_path_factory.mktemp("turn"))
    log = tmp_path_factory.mktemp("turn-log") / "turn.log"
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, "turnserver", "-n", "--listening-ip", ns_ip, "--relay-ip", ns_ip,
         "--listening-port", str(TURN_PORT), "--lt-cred-mech", "--user", "alice:s3cret", "--realm", "stylecast",
         "--fingerprint", "--no-tls", "--no-dtls", "--no-cli", "--no-tcp-relay", "--min-port", "49152",
         "--max-port", "49200", "--log-file", str(log), "--simple-log", "--no-stdout-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while "Total General servers" not in (log.read_text() if log.exists() else ""):
            assert proc.poll() is None, f"turnserver exited: {log.read_text() if log.exists() else ''}"
            assert time.monotonic() < deadline, "turnserver did not start in 10 s"
            time.sleep(0.1)
        yield ns_ip
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        _teardown(ns, host_if)


def relay_candidates(sdp: str) -> list[str]:
    return re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+) \d+ typ relay", sdp)


def answer_sdp(ice: str) -> str:
    async def main():
        cfg = ServerConfig(source="sample", source_size=(48, 64), ice_servers=(parse_ice_server(ice),))
        server = TestServer(create_app(cfg, lambda n: (lambda x: x), styles=["id"]), host="127.0.0.1", port=0)
        await server.start_server()
        try:
            peer = await connect(str(server.make_url("")).rstrip("/"), mode="view")
            try:
                return peer.pc.remoteDescription.sdp
            finally:
                await peer.close()
        finally:
            await server.close()

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_turn_relay_allocated_with_credentials(turn_ip):
    sdp = answer_sdp(f"turn:alice:s3cret@{turn_ip}:{TURN_PORT}?transport=udp")
    assert relay_candidates(sdp) == [turn_ip], sdp


def test_turn_wrong_credentials_give_no_relay(turn_ip):
    sdp = answer_sdp(f"turn:{turn_ip}:{TURN_PORT}?username=alice&credential=wrong")
    assert relay_candidates(sdp) == [] and "typ host" in sdp
