"""WebRTC server benchmark: server latency (receive -> send) and viewers held at 30 fps.

1. Mirror latency: an aiortc client on 127.0.0.1 sends the embedded sample at 30 fps to the
   in-process server (stylizer: TransformerNet light preset, or --style for a registry style);
   reports the server's p50/p99 latency and, as the baseline measured in the same run, the bare
   stylizer forward time at that size (ratio = overhead of decode/convert/queue/encode hand-off).
   ``--part mirror``: a mirror peer with the server's defaults (temporal on, the device's render
   scale), eager (baseline) vs ``--backend auto`` (compiled in the background, measured once built).
2. Fan-out: broadcast of the sample at 30 fps with an identity stylizer (isolates relay + per-viewer
   VP8 encoding, which is what limits viewers; the stylizer runs once per frame whatever the viewer
   count), adding viewers until one falls below 27 fps; also with the light stylizer.

    .venv/bin/python bench/webrtc_latency.py [--seconds 8] [--sizes 640x480,1280x720] [--max-viewers 8]
Figures go to docs/bench/webrtc.md by hand (with machine and load average).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402

from models.nets.transformer import PRESETS, TransformerNet  # noqa: E402
from stream.server.app import CTX, create_app  # noqa: E402
from stream.server.client import ArrayTrack, connect  # noqa: E402
from stream.server.config import ServerConfig  # noqa: E402


def light_factory(device: str):
    def make(name: str):
        if name == "identity":
            return lambda x: x
        torch.manual_seed(0)  # random weights cost exactly what trained weights cost
        return TransformerNet(PRESETS["light"]).to(device).eval()
    return make


def frames_for(h: int, w: int, n: int = 12):
    from models.io.sample import sample_frames

    return list(sample_frames(n=n, size=(h, w)))


def forward_ms(device: str, h: int, w: int, reps: int = 3) -> float:
    net = light_factory(device)("light")
    x = torch.rand(1, 3, h, w, device=device)
    ts = []
    with torch.inference_mode():
        net(x)
        for _ in range(reps):
            t = time.perf_counter()
            net(x)
            if device == "cuda":
                torch.cuda.synchronize()
            ts.append(time.perf_counter() - t)
    return 1000 * statistics.median(ts)


async def mirror_latency(h: int, w: int, seconds: float, device: str, *, temporal: bool = False,
                         backend: str = "eager") -> dict:
    """``backend`` auto/compile: the compiled build (background) is awaited before measuring,
    its wait returned as ``build_s``; the server's other settings are its defaults."""
    cfg = ServerConfig(style="light", temporal=temporal, device=device, max_side=max(h, w), backend=backend)
    server = TestServer(create_app(cfg, light_factory(device), styles=["light", "identity"]), host="127.0.0.1")
    await server.start_server()
    try:
        peer = await connect(str(server.make_url("")).rstrip("/"), mode="mirror", track=ArrayTrack(frames_for(h, w)))
        await peer.next_frame(timeout=120)  # model load + first frame
        st = server.app[CTX].peers.get(peer.peer_id).state.stats
        tb = time.monotonic()
        while backend != "eager" and not st.backend.startswith("compile") and time.monotonic() - tb < 600:
            await peer.next_frame(timeout=120)  # eager serves while the compiled build runs
        build_s = time.monotonic() - tb
        st._lat.clear()
        f0, t0 = st.frames, time.monotonic()
        got = 0
        while time.monotonic() - t0 < seconds:
            await peer.next_frame(timeout=120)
            got += 1
        snap = st.snapshot()
        fps = (st.frames - f0) / (time.monotonic() - t0)
        await peer.close()
        return {"p50": snap["latency_ms"]["p50"], "p99": snap["latency_ms"]["p99"], "n": snap["latency_ms"]["count"],
                "server_fps": round(fps, 2), "drops": snap["drops"], "client_fps": round(got / seconds, 2),
                "backend": st.backend, "build_s": round(build_s, 1)}
    finally:
        await server.close()


async def viewers_at_30(h: int, w: int, style: str, max_viewers: int, seconds: float, device: str) -> tuple[int, list]:
    cfg = ServerConfig(style=style, temporal=False, source="sample", source_size=(h, w), source_fps=30,
                       device=device, max_peers=max_viewers + 1, max_side=max(h, w), sample_frames=12)
    server = TestServer(create_app(cfg, light_factory(device), styles=["light", "identity"]), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    peers, held, log = [], 0, []
    try:
        for k in range(1, max_viewers + 1):
            peers.append(await connect(url, mode="view"))
            if k == 1:
                await peers[0].next_frame(timeout=300)  # sample rendering + model load
            for p in peers:  # drain
                while not p.frames.empty():
                    p.frames.get_nowait()
            for _ in range(5):  # warm-up: the new viewer's encoder, keyframe and jitter buffer
                await peers[-1].next_frame(timeout=60)
            counts = [0] * len(peers)
            t0 = time.monotonic()

            async def count(i, p):
                while time.monotonic() - t0 < seconds:
                    try:
                        await p.next_frame(timeout=max(0.1, seconds - (time.monotonic() - t0)))
                        counts[i] += 1
                    except asyncio.TimeoutError:
                        break

            await asyncio.gather(*(count(i, p) for i, p in enumerate(peers)))
            fps = [c / seconds for c in counts]
            log.append((k, round(min(fps), 1), round(statistics.mean(fps), 1)))
            if min(fps) < 27.0:
                break
            held = k
    finally:
        for p in peers:
            await p.close()
        await server.close()
    return held, log


async def main_async(args) -> None:
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    print(f"machine: {os.cpu_count()} CPU cores, torch {torch.__version__}, device {args.device}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    if args.part in ("all", "latency"):
        await latency_table(args, sizes)
    if args.part in ("all", "mirror"):
        await mirror_table(args, sizes)
    if args.part in ("all", "fanout"):
        await fanout_table(args, sizes)
    print(f"load average {os.getloadavg()[0]:.1f} at end")


async def latency_table(args, sizes) -> None:
    print("| size | forward light (ms, baseline) | server latency p50 / p99 (ms) | ratio p50/forward | server fps | drops |")
    print("|---|---|---|---|---|---|")
    for w, h in sizes:
        fwd = forward_ms(args.device, h, w)
        m = await mirror_latency(h, w, args.seconds, args.device)
        print(f"| {w}x{h} | {fwd:.0f} | {m['p50']:.0f} / {m['p99']:.0f} (n={m['n']}) | {m['p50'] / fwd:.2f} | "
              f"{m['server_fps']} | {m['drops']} |", flush=True)
    print()


async def mirror_table(args, sizes) -> None:
    """A mirror peer with the server's defaults (temporal on, render scale of the device): eager
    (the baseline, same run) against --backend auto (compiled in the background; measured once built)."""
    print("| size | backend | temporal | client fps (frames back / s) | server fps | latency p50 / p99 (ms) | drops | build wait (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for w, h in sizes:
        for backend in ("eager", "auto"):
            m = await mirror_latency(h, w, args.seconds, args.device, temporal=True, backend=backend)
            print(f"| {w}x{h} | {backend}: {m['backend']} | on | {m['client_fps']} | {m['server_fps']} | "
                  f"{m['p50']:.0f} / {m['p99']:.0f} | {m['drops']} | {m['build_s']} |", flush=True)
    print()


async def fanout_table(args, sizes) -> None:
    print("| size | stylizer | viewers held at >=27 fps | per step (viewers, min fps, mean fps) |")
    print("|---|---|---|---|")
    for w, h in sizes:
        for style in ("identity", "light"):
            held, log = await viewers_at_30(h, w, style, args.max_viewers, args.seconds / 2, args.device)
            print(f"| {w}x{h} | {style} | {held} | {log} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--sizes", default="640x480,1280x720")
    ap.add_argument("--max-viewers", type=int, default=8)
    ap.add_argument("--part", choices=["all", "latency", "mirror", "fanout"], default="all")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: what `stylecast serve` sets)")
    args = ap.parse_args()
    from models.cli.options import apply_cpu_threads

    print(apply_cpu_threads(args.threads, torch.device(args.device)) or f"threads: torch default ({torch.get_num_threads()})")
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
