#!/usr/bin/env python3
"""`serve`'s compute path under N mirror peers: per-peer fps and server latency percentiles.

Each peer is a thread that offers a frame every 1/fps s to the server's one StyleWorker exactly
as a MirrorTrack does (stream.server.tracks.frame_job -> StyleWorker.submit_frame: latest frame
wins, a frame offered while the peer's previous one is in flight is dropped; on the CPU, where the
worker overlaps frames, a second frame is accepted once the first one's network has run), with its own
temporal blender. Peers of one size are batched by the worker into one forward pass. Latency =
offer -> stylized uint8 frame back (the server's receive -> send minus VP8 decode/encode, which
runs on aiortc's threads; bench/webrtc_latency.py measures the whole WebRTC path where aiortc
is installed). Needs no av/aiortc: it runs on the GPU image.

Baseline in the same run: one peer. With --backend compile the builds (background, per size
bucket) are awaited before measuring and their time printed; --second-start repeats the build
in a fresh process with the same cache dir (the compile caches persisted across restarts).

    python bench/serve_engine.py [--device cuda] [--size 1280x720] [--peers 1,8,16] [--fps 30]
        [--seconds 10] [--preset standard] [--backend eager|compile] [--render-scale 1]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.backends.synthetic import synthetic_style_net  # noqa: E402
from models.guided import RenderScale  # noqa: E402
from models.cli.render import default_render  # noqa: E402
from stream.server.temporal import make_blender  # noqa: E402
from stream.server.worker import FrameJob, StyleWorker  # noqa: E402


def frames(h: int, w: int, n: int = 8) -> list[np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for t in range(n):
        img = np.stack([0.5 + 0.5 * np.sin(xs / 37.0 + 0.3 * t), 0.5 + 0.5 * np.cos(ys / 23.0 - 0.2 * t),
                        0.5 + 0.4 * np.sin((xs + ys) / 51.0)], -1)
        out.append(np.ascontiguousarray((img * 255).astype(np.uint8)))
    return out


def run_peers(worker: StyleWorker, n: int, imgs: list[np.ndarray], fps: float, seconds: float,
              temporal: bool) -> dict:
    lat: list[float] = []
    done = [0] * n
    drops = [0] * n
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def peer(i: int) -> None:
        blender = make_blender(0.92) if temporal else None
        period, t_next, k = 1.0 / fps, time.perf_counter() + i * 0.001, 0
        inflight: list[FrameJob] = []  # at most one in its network, one finishing (MirrorTrack.recv)
        while time.perf_counter() < stop:
            now = time.perf_counter()
            if now < t_next:
                time.sleep(t_next - now)
            t_next += period
            inflight = [j for j in inflight if not j.future.done()]
            free = not inflight or (worker.overlaps and len(inflight) < 2 and all(j.front_done.done() for j in inflight))
            if not free:
                drops[i] += 1  # latest frame wins: the peer's previous frame is still in flight
                continue
            job = FrameJob(frame=imgs[k % len(imgs)], style="s", blender=blender)
            t0 = time.perf_counter()
            fut = worker.submit_frame(job)

            def finished(f, t0=t0):  # type: ignore[no-untyped-def]
                with lock:
                    lat.append(time.perf_counter() - t0)
                    done[i] += 1

            fut.add_done_callback(finished)
            inflight.append(job)
            k += 1

    threads = [threading.Thread(target=peer, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a = np.asarray(lat) * 1e3 if lat else np.zeros(1)
    per_fps = [d / seconds for d in done]
    return {"peers": n, "min_fps": min(per_fps), "mean_fps": float(np.mean(per_fps)),
            "p50": float(np.percentile(a, 50)), "p99": float(np.percentile(a, 99)), "drops": sum(drops),
            "batch": worker.batch_mean()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--peers", default="1,8,16")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--preset", default="standard", choices=("standard", "light"))
    ap.add_argument("--style", default=None, help="a style name/checkpoint instead of the synthetic preset net")
    ap.add_argument("--backend", default="eager", choices=("eager", "compile"))
    ap.add_argument("--render-scale", type=float, default=None, help="default: the device's default")
    ap.add_argument("--no-temporal", action="store_true")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--second-start", action="store_true", help="then time a fresh process's build from the cache")
    ap.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    w, h = (int(v) for v in args.size.lower().split("x"))
    render = default_render(args.device) if args.render_scale is None else RenderScale(scale=args.render_scale)
    if args.style:
        from models.styles.registry import load_stylizer

        net = load_stylizer(args.style, device=args.device)
    else:
        from models.contracts import default_dtype

        net = synthetic_style_net(args.preset, seed=0).to(args.device, default_dtype(args.device))
    cache_dir = args.cache_dir or str(ROOT / "out" / "compile_cache")
    worker = StyleWorker(lambda name: net, device=args.device, max_side=max(w, h), render=render,
                         backend=args.backend, cache_dir=cache_dir)
    imgs = frames(h, w)
    peers = [int(p) for p in args.peers.split(",")]
    print(f"# serve compute path: {args.device} {torch.cuda.get_device_name() if args.device.startswith('cuda') else ''}"
          f" torch {torch.__version__}, {args.size} @ {args.fps:g} fps per peer, {args.style or args.preset} net, "
          f"backend {args.backend}, render {worker.render_note()}, temporal {'off' if args.no_temporal else 'on'}, "
          f"load {os.getloadavg()[0]:.1f}")
    try:
        if args.backend == "compile":
            t0 = time.perf_counter()
            fn = worker.submit(worker.stylizer, "s").result(600)
            for n in peers:  # one frame per batch size so each bucket's build is queued, then wait
                futs = [worker.submit_frame(FrameJob(frame=imgs[0], style="s")) for _ in range(n)]
                [f.result(600) for f in futs]
            fn.wait_idle(900)
            print(f"compile builds for {sorted(fn._ready)} done in {time.perf_counter() - t0:.1f} s "
                  f"(failed: {fn._state or 'none'})")
            if args.build_only:
                return
        print("| peers | min fps per peer | mean fps | latency p50 ms | p99 ms | drops | mean batch |")
        print("|---|---|---|---|---|---|---|")
        base = None
        for n in peers:
            worker.batches.clear()
            r = run_peers(worker, n, imgs, args.fps, args.seconds, not args.no_temporal)
            base = base or r
            print(f"| {n} | {r['min_fps']:.1f} | {r['mean_fps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                  f"{r['drops']} | {r['batch']:.2f} |", flush=True)
        print(f"(baseline: 1 peer p99 {base['p99']:.1f} ms)")
    finally:
        worker.close()
    if args.second_start and args.backend == "compile":
        t0 = time.perf_counter()
        cmd = [sys.executable, __file__, "--device", args.device, "--size", args.size, "--peers", args.peers,
               "--preset", args.preset, "--backend", "compile", "--cache-dir", cache_dir, "--build-only"]
        if args.render_scale is not None:
            cmd += ["--render-scale", str(args.render_scale)]
        out = subprocess.run(cmd, capture_output=True, text=True)
        print(f"second start (fresh process, same cache): {time.perf_counter() - t0:.1f} s total; "
              f"{(out.stdout.strip().splitlines() or [''])[-1]}")


if __name__ == "__main__":
    main()
