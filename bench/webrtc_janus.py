"""Viewers of one broadcast through Janus (publish once, SFU fan-out) vs aiortc's MediaRelay
(one VP8 encoder per viewer in the stylecast process), 640x480 at 30 fps by default.

Runs the real `stylecast serve` code path in its own process (sample source, a constant-colour
stylizer so that fan-out, not the model, is measured), a real Janus (Debian's, from
`stylecast janus-config`) in a network namespace created here (root; nothing leaves the
machine), and light aiortc viewers in this process whose VP8 decoder only counts the frames it
is handed (decoding 20+ streams would make the viewers, not the server, the bottleneck). Viewers
are added step by step; per step: stylecast CPU s/s and Janus CPU s/s (from /proc), min/mean
frames per second per viewer, and the broadcast's own fps from /stats (when it drops too, the
server was starved of CPU, not the fan-out). A mode stops when a viewer gets < 27 fps.

    python bench/webrtc_janus.py [--size 640x480] [--relay 1,2,4,6,8] [--janus 1,5,10,20,30] [--seconds 5]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import aiortc.rtcrtpreceiver as rtcrtpreceiver  # noqa: E402
from _pytest.outcomes import Skipped  # noqa: E402 - raised by janus_env's namespace helper

from janus_env import JanusEnv, _netns, _teardown, proc_cpu_seconds  # noqa: E402
from janus_load import start_server, stats, stop_server  # noqa: E402
from stream.janus.config import JanusConfig, write  # noqa: E402

DECODERS: list = []


class CountingDecoder:
    """Stands in for aiortc's VP8 decoder in the bench's viewers: counts complete frames."""

    def __init__(self) -> None:
        self.frames = 0
        DECODERS.append(self)

    def decode(self, encoded_frame):  # noqa: ANN001 - aiortc's decoder interface
        self.frames += 1
        return []


rtcrtpreceiver.get_decoder = lambda codec: CountingDecoder()


async def measure(proc, janus_pid, seconds: float) -> dict:
    c0, j0, t0 = proc_cpu_seconds(proc.pid), proc_cpu_seconds(janus_pid) if janus_pid else 0.0, time.monotonic()
    f0 = [d.frames for d in DECODERS]
    await asyncio.sleep(seconds)
    dt = time.monotonic() - t0
    fps = [(d.frames - f) / dt for d, f in zip(DECODERS, f0)]
    return {"server_cpu": (proc_cpu_seconds(proc.pid) - c0) / dt,
            "janus_cpu": ((proc_cpu_seconds(janus_pid) - j0) / dt) if janus_pid else None,
            "min_fps": min(fps), "mean_fps": sum(fps) / len(fps)}


async def run_mode(mode: str, steps: list[int], size, seconds: float, env: JanusEnv | None) -> list[tuple[int, dict]]:
    from stream.janus.subscriber import subscribe
    from stream.server.client import connect

    DECODERS.clear()
    janus_url = env.url if mode == "janus" else None
    proc, port = start_server(size=size, fps=30, janus_url=janus_url,
                              ready=lambda s: (s["janus"] or {}).get("state") == "publishing" if janus_url else True)
    viewers: list = []
    rows = []
    try:
        for n in steps:
            while len(viewers) < n:
                if mode == "janus":
                    viewers.append(await subscribe(env.url, env.room))
                else:
                    viewers.append(await connect(f"http://127.0.0.1:{port}", mode="view"))
            deadline = time.monotonic() + 20
            while len(DECODERS) < len(viewers) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)  # settle: keyframes, encoder start-up
            r = await measure(proc, env.proc.pid if mode == "janus" else None, seconds)
            r["decoders"] = len(DECODERS)
            r["source_fps"] = stats(port)["broadcast"]["fps"]  # what the server produced (2 s window)
            rows.append((n, r))
            janus = f", janus {r['janus_cpu']:.3f}" if r["janus_cpu"] is not None else ""
            print(f"{mode:6s} viewers {n:3d}: stylecast CPU {r['server_cpu']:.3f} s/s{janus}, "
                  f"fps per viewer min {r['min_fps']:.1f} mean {r['mean_fps']:.1f}, server fps {r['source_fps']:.1f}",
                  flush=True)
            if r["min_fps"] < 27:
                break
    finally:
        await asyncio.gather(*(v.close() for v in viewers), return_exceptions=True)
        stop_server(proc)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="640x480")
    ap.add_argument("--relay", default="1,2,4,6,8")
    ap.add_argument("--janus", default="1,5,10,20,30")
    ap.add_argument("--seconds", type=float, default=5.0)
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    load0 = os.getloadavg()[0]
    if shutil.which("janus") is None:
        print("webrtc_janus: skipped (janus not installed: apt-get install janus)")
        return
    try:
        ns, host_if, _host_ip, ns_ip = _netns(Path(tempfile.mkdtemp()))
    except Skipped as exc:  # not root / no namespaces: the same reason the tests give
        print(f"webrtc_janus: skipped ({exc.msg})")
        return
    cfg_dir = Path(tempfile.mkdtemp(prefix="janus-bench-"))
    write(JanusConfig(address=ns_ip), cfg_dir)
    env = JanusEnv(ns=ns, host_if=host_if, host_ip=_host_ip, ns_ip=ns_ip, config_dir=cfg_dir)
    try:
        env.start()
        out = {}
        for mode, steps in (("relay", a.relay), ("janus", a.janus)):
            out[mode] = asyncio.run(run_mode(mode, [int(s) for s in steps.split(",")], (h, w), a.seconds, env))
    finally:
        env.stop()
        _teardown(ns, host_if)
    print(f"\nload average {load0:.1f} -> {os.getloadavg()[0]:.1f}; {a.size} 30 fps, {a.seconds:.0f} s windows")
    print("| path | viewers | stylecast CPU (s/s) | vs 1 viewer | Janus CPU (s/s) | fps per viewer min / mean | server fps |")
    print("|---|---|---|---|---|---|---|")
    for mode, rows in out.items():
        base = rows[0][1]["server_cpu"]
        for n, r in rows:
            j = f"{r['janus_cpu']:.3f}" if r["janus_cpu"] is not None else "-"
            print(f"| {'Janus' if mode == 'janus' else 'MediaRelay'} | {n} | {r['server_cpu']:.3f} | "
                  f"x{r['server_cpu'] / base:.2f} | {j} | {r['min_fps']:.1f} / {r['mean_fps']:.1f} | {r['source_fps']:.1f} |")
        held = max([n for n, r in rows if r["min_fps"] >= 27], default=0)
        print(f"{mode}: viewers held at >= 27 fps: {held} (most tried: {rows[-1][0]})")


if __name__ == "__main__":
    main()
