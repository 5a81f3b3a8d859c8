"""A real Janus Gateway for tests, inside a network namespace the test creates.

Janus and aioice never offer loopback candidates, so Janus runs in its own namespace joined to
the test's namespace by a veth pair with private addresses (10.218.x.0/30) assigned here; both
ends live on this machine and the namespace has no other route, so no packet can leave it.
Janus is started from `stylecast janus-config`'s output, bound to the namespace's address.
Skips (with the reason) when janus is not installed or namespaces cannot be created (not root).
"""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stream.janus.config import JanusConfig, write


def _sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


@dataclass
class JanusEnv:
    ns: str
    host_if: str
    host_ip: str
    ns_ip: str
    config_dir: Path
    room: int = 1234
    proc: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.config_dir / "janus.log"

    @property
    def url(self) -> str:
        return f"http://{self.ns_ip}:8088/janus"

    def start(self, timeout: float = 15.0) -> None:
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, "janus", "-F", str(self.config_dir)],
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"janus exited with {self.proc.returncode}; log: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/info", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"janus did not answer on {self.url} in {timeout} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # our own Popen: `ip netns exec` execs janus, so this is janus
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.proc.pid) if self.proc is not None else 0.0


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of one process from /proc (seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


_SEQ = itertools.count()  # n < 63 keeps 4n+2 in the /24


def _netns(tmp: Path) -> tuple[str, str, str, str]:
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("Janus test needs root and iproute2 to create a network namespace (Janus offers no loopback candidates)")
    n = next(_SEQ)  # unique per fixture instance (two modules may overlap during teardown)
    tag = f"{os.getpid() % 100000}x{n}"
    ns, host_if, ns_if = f"sc-janus-{tag}", f"scjh{tag}", f"scjn{tag}"
    sub = os.getpid() % 250
    host_ip, ns_ip = f"10.218.{sub}.{4 * n + 1}", f"10.218.{sub}.{4 * n + 2}"
    try:
        _sh("ip", "netns", "add", ns)
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"cannot create a network namespace for Janus: {getattr(exc, 'stderr', b'') or exc}")
    try:
        _sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _sh("ip", "link", "set", ns_if, "netns", ns)
        _sh("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        _sh("ip", "link", "set", host_if, "up")
        _sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        _sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
    except (subprocess.CalledProcessError, OSError) as exc:
        _teardown(ns, host_if)
        pytest.skip(f"cannot create the veth pair for Janus: {getattr(exc, 'stderr', b'') or exc}")
    return ns, host_if, host_ip, ns_ip


def _teardown(ns: str, host_if: str) -> None:
    subprocess.run(["ip", "link", "del", host_if], capture_output=True, timeout=10)
    subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def janus_env(tmp_path_factory):
    if shutil.which("janus") is None:
        pytest.skip("janus not installed (Debian: apt-get install janus; .ci/run installs it)")
    ns, host_if, host_ip, ns_ip = _netns(tmp_path_factory.mktemp("janus"))
    cfg_dir = tmp_path_factory.mktemp("janus-config")
    write(JanusConfig(address=ns_ip, room=1234), cfg_dir)
    env = JanusEnv(ns=ns, host_if=host_if, host_ip=host_ip, ns_ip=ns_ip, config_dir=cfg_dir)
    try:
        env.start()
        yield env
    finally:
        env.stop()
        _teardown(ns, host_if)
