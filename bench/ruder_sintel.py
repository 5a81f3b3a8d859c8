#!/usr/bin/env python3
"""Ruder et al.-style comparison table on MPI-Sintel frames (../shared/data/video/sintel_mountain_2):
E_warp (Lai et al. 2018) and style / content loss for
  per-frame (random init) | prev-warped init | + short-term temporal loss | + long-term | multi-pass.

    python bench/ruder_sintel.py                       # CPU settings (small, few iterations)
    python bench/ruder_sintel.py --device cuda --max-side 1024 --frames 50 \\
        --iterations 1000 --first-iterations 2000 --passes 15 --pass-iterations 100 --long-term 1,10,20,40

E_warp uses DIS-medium flow estimated on the *original* frames (independent of the method's own
flow cache), with the forward-backward occlusion check. Style/content losses are measured on
the final frames with the method's loss network and the same weights as the optimization.
Does not import av/aiortc. Prints a Markdown table; figures vary with the machine only in time.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from models.lossnets import build_loss_network  # noqa: E402
from models.losses import content_loss, style_loss  # noqa: E402
from models.metrics import warping_error  # noqa: E402
from offline.ruder.config import MultipassConfig, OptimConfig, RuderConfig  # noqa: E402
from offline.ruder.job import read_png, u8_to_tensor  # noqa: E402
from offline.ruder.optimize import FrameOptimizer  # noqa: E402
from offline.ruder.pipeline import VideoSpec, run_video  # noqa: E402

SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames-dir", default=str(SHARED / "data/video/sintel_mountain_2"))
    ap.add_argument("--style-image", default=str(SHARED / "data/styles/starry_night.jpg"))
    ap.add_argument("--loss-weights", default=os.environ.get("STYLECAST_VGG19_WEIGHTS", str(SHARED / "weights/vgg19_imagenet_features.fp16.safetensors")))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--max-side", type=int, default=128)
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--iterations", type=int, default=40)
    ap.add_argument("--first-iterations", type=int, default=100)
    ap.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    ap.add_argument("--long-term", default="1,2,4", help="J for the long-term row (paper: 1,10,20,40)")
    ap.add_argument("--passes", type=int, default=6)
    ap.add_argument("--temporal-after", type=int, default=4)
    ap.add_argument("--pass-iterations", type=int, default=25)
    ap.add_argument("--mp-init", default="random", choices=("random", "prev-warped"),
                    help="multi-pass: init of pass 1 (Lua default random; prevWarped is its other option)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 avoids OpenMP contention on shared machines)")
    ap.add_argument("--rows", default="all", help="comma list of row keys: random,prev,short,long,multipass")
    ap.add_argument("--work", default=None, help="keep job directories here (default: temp)")
    args = ap.parse_args(argv)
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    long_term = tuple(int(v) for v in args.long_term.split(","))

    base = OptimConfig(iterations=args.iterations, first_iterations=args.first_iterations, optimizer=args.optimizer,
                       loss_weights=args.loss_weights, tol=0.0)
    rows = {
        "random": ("per-frame, random init (baseline)", "ruder", RuderConfig(optim=dataclasses.replace(base, temporal_weight=0.0, init="random"), long_term=(1,))),
        "prev": ("prev-warped init, no temporal loss", "ruder", RuderConfig(optim=dataclasses.replace(base, temporal_weight=0.0), long_term=(1,))),
        "short": ("+ short-term temporal loss (J={1})", "ruder", RuderConfig(optim=base, long_term=(1,))),
        "long": (f"+ long-term (J={{{args.long_term}}})", "ruder", RuderConfig(optim=base, long_term=long_term)),
        "multipass": (f"multi-pass ({args.passes} passes x {args.pass_iterations} it, temporal from pass {args.temporal_after}, pass-1 init {args.mp_init})", "multipass",
                      MultipassConfig(optim=dataclasses.replace(base, iterations=args.pass_iterations, first_iterations=None, init=args.mp_init, temporal_weight=3.25e7),
                                      passes=args.passes, temporal_after=args.temporal_after)),
    }
    keys = list(rows) if args.rows == "all" else args.rows.split(",")

    net = build_loss_network("vgg19", weights=args.loss_weights).to(dev)
    style_img = u8_to_tensor(read_png(Path(args.style_image)), dev)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ruder_bench_"))
    print(f"# frames={args.frames} max_side={args.max_side} device={args.device} optimizer={args.optimizer} "
          f"iterations={args.first_iterations}/{args.iterations} torch={torch.__version__} threads={torch.get_num_threads()}", flush=True)
    results = []
    original = None
    for key in keys:
        label, method, cfg = rows[key]
        spec = VideoSpec(input=args.frames_dir, output=str(work / key / "out"), method=method, job_dir=str(work / key / "job"),
                         max_side=args.max_side, max_frames=args.frames, device=args.device, style_image=args.style_image,
                         **({"ruder": cfg} if method == "ruder" else {"multipass": cfg}))
        t0 = time.perf_counter()
        from offline.ruder.job import Job
        from offline.ruder.source import decode_into

        job = Job(spec.job_dir, spec.settings())
        decode_into(job, spec.input, max_side=spec.max_side, max_frames=spec.max_frames)
        size = (int(job.meta["height"]), int(job.meta["width"]))
        opt = FrameOptimizer(net, style_img, cfg.optim, style_taps=net.style_taps, content_tap=net.content_tap, content_size=size)
        out = run_video(spec, optimizer=opt)
        secs = time.perf_counter() - t0
        frames = torch.cat([u8_to_tensor(read_png(p), dev) for p in sorted(out.iterdir())])
        if original is None:
            original = torch.cat([job.frame(i, dev) for i in range(job.n_frames)])
        ew = warping_error(original.cpu(), frames.cpu())
        with torch.no_grad():
            s_l = c_l = 0.0
            for i in range(frames.shape[0]):
                f = net(frames[i:i + 1])
                p = opt.content_target(original[i:i + 1])
                s_l += float(style_loss({k: f[k] for k in net.style_taps}, opt.style_grams))
                c_l += float(content_loss(f[net.content_tap], p))
        n = frames.shape[0]
        results.append((label, ew, s_l / n * cfg.optim.style_weight, c_l / n * cfg.optim.content_weight, secs))
        print(f"{key}: E_warp={ew:.5f} style={results[-1][2]:.4g} content={results[-1][3]:.4g} ({secs:.0f}s)", flush=True)
    print()
    print(f"| method | E_warp (x1e-3) | weighted style loss | weighted content loss | wall s |")
    print("|---|---:|---:|---:|---:|")
    for label, ew, s, c, secs in results:
        print(f"| {label} | {ew * 1e3:.3f} | {s:.4g} | {c:.4g} | {secs:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
