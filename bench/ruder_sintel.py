#!/usr/bin/env python3
"""Ruder et al.-style comparison table on MPI-Sintel frames (../shared/data/video/sintel_mountain_2):
E_warp (Lai et al. 2018), long-range error and style / content loss for
  per-frame (random init) | prev-warped init | + short-term temporal loss | + long-term |
  multi-pass (pass 1 random, the Lua default) | multi-pass (pass 1 prev-warped).

    python bench/ruder_sintel.py                       # CPU settings (small, few iterations)
    python bench/ruder_sintel.py --device cuda --max-side 1024 --frames 50 \\
        --iterations 1000 --first-iterations 2000 --passes 15 --temporal-after 8 --pass-iterations 100

E_warp uses DIS-medium flow estimated on the *original* frames between consecutive frames
(independent of the method's own flow cache), with the forward-backward occlusion check. The
long-range columns (offline.ruder.evaluate) compare frame i with frame i-GAP warped by flow
computed directly between them: over all pixels visible in both, and over the "re-appearing"
ones (visible in both but unreliable between i-1 and i), which only the long-term loss ties.
Style/content losses are measured on the final frames with the method's loss network and the
same weights as the optimization. Does not import av/aiortc. Prints a Markdown table and, with
--json, one JSON line per row (to merge runs made in parallel).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from models.losses.networks import build_loss_network  # noqa: E402
from models.losses.functional import content_loss, style_loss  # noqa: E402
from models.temporal.metrics import warping_error  # noqa: E402
from offline.ruder.evaluate import long_range_error  # noqa: E402
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
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--iterations", type=int, default=80)
    ap.add_argument("--first-iterations", type=int, default=300)
    ap.add_argument("--tol", type=float, default=1e-4,
                    help="single-pass rows: stop a frame when the loss changed < tol (relative) over 50 evaluations (Lua default); 0 = never")
    ap.add_argument("--optimizer", default="lbfgs", choices=("lbfgs", "adam"))
    ap.add_argument("--long-term", default="1,10,20,40", help="J for the long-term row (paper: 1,10,20,40)")
    ap.add_argument("--gap", type=int, default=10, help="frame gap of the long-range error")
    ap.add_argument("--passes", type=int, default=8)
    ap.add_argument("--temporal-after", type=int, default=4)
    ap.add_argument("--pass-iterations", type=int, default=25)
    ap.add_argument("--json", default=None, help="append one JSON line per row to this file")
    ap.add_argument("--table", nargs="+", metavar="JSONL", help="only print the table of rows from these --json files")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads (1 avoids OpenMP contention on shared machines)")
    ap.add_argument("--rows", default="all", help="comma list of row keys: random,prev,short,long,multipass")
    ap.add_argument("--work", default=None, help="keep job directories here (default: temp)")
    args = ap.parse_args(argv)
    if args.table:
        order = ["random", "prev", "short", "long", "multipass", "multipass-prev"]
        loaded = [json.loads(line) for f in args.table for line in Path(f).read_text().splitlines() if line.strip()]
        print(table(sorted(loaded, key=lambda r: order.index(r["key"]) if r["key"] in order else len(order)), args.gap))
        return 0
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    long_term = tuple(int(v) for v in args.long_term.split(","))

    base = OptimConfig(iterations=args.iterations, first_iterations=args.first_iterations, optimizer=args.optimizer,
                       loss_weights=args.loss_weights, tol=args.tol)
    # Multi-pass: fixed iterations per pass, no tolerance (Lua multiPass: tol_loss_relative 0).
    mp_optim = dataclasses.replace(base, iterations=args.pass_iterations, first_iterations=None, temporal_weight=3.25e7, tol=0.0)
    mp_label = f"{args.passes} x {args.pass_iterations} it, temporal from pass {args.temporal_after}"
    rows = {
        "random": ("per-frame, random init (baseline)", "ruder", RuderConfig(optim=dataclasses.replace(base, temporal_weight=0.0, init="random"), long_term=(1,))),
        "prev": ("prev-warped init, no temporal loss", "ruder", RuderConfig(optim=dataclasses.replace(base, temporal_weight=0.0), long_term=(1,))),
        "short": ("+ short-term temporal loss (J={1})", "ruder", RuderConfig(optim=base, long_term=(1,))),
        "long": (f"+ long-term (J={{{args.long_term}}})", "ruder", RuderConfig(optim=base, long_term=long_term)),
        "multipass": (f"multi-pass ({mp_label}, pass 1 random: Lua default)", "multipass",
                      MultipassConfig(optim=dataclasses.replace(mp_optim, init="random"), passes=args.passes, temporal_after=args.temporal_after)),
        "multipass-prev": (f"multi-pass ({mp_label}, pass 1 prev-warped)", "multipass",
                           MultipassConfig(optim=dataclasses.replace(mp_optim, init="prev-warped"), passes=args.passes, temporal_after=args.temporal_after)),
    }
    keys = list(rows) if args.rows == "all" else args.rows.split(",")
    if args.frames <= args.gap:
        ap.error(f"--frames must exceed --gap ({args.gap}) for the long-range error")

    net = build_loss_network("vgg19", weights=args.loss_weights).to(dev)
    style_img = u8_to_tensor(read_png(Path(args.style_image)), dev)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="ruder_bench_"))
    print(f"# frames={args.frames} max_side={args.max_side} device={args.device} optimizer={args.optimizer} "
          f"iterations={args.first_iterations}/{args.iterations} tol={args.tol} J={args.long_term} gap={args.gap} "
          f"torch={torch.__version__} threads={torch.get_num_threads()} load={os.getloadavg()[0]:.1f}", flush=True)
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
        lr = long_range_error(original.cpu(), frames.cpu(), args.gap)
        with torch.no_grad():
            s_l = c_l = 0.0
            for i in range(frames.shape[0]):
                f = net(frames[i:i + 1])
                p = opt.content_target(original[i:i + 1])
                s_l += float(style_loss({k: f[k] for k in net.style_taps}, opt.style_grams))
                c_l += float(content_loss(f[net.content_tap], p))
        n = frames.shape[0]
        # Style/content in the optimization's own weighting (content 5, style 100), so rows compare.
        row = dict(key=key, label=label, e_warp=ew, long_all=lr.all, long_reappear=lr.reappear,
                   reappear_fraction=lr.reappear_fraction, style=s_l / n * base.style_weight,
                   content=c_l / n * base.content_weight, secs=secs, load=os.getloadavg()[0])
        results.append(row)
        print(json.dumps(row), flush=True)
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps(row) + "\n")
    print()
    print(table(results, args.gap))
    return 0


# The step each row adds to: its style/E_warp changes are reported against that row.
REFERENCE = {"prev": "random", "short": "prev", "long": "short", "multipass": "long", "multipass-prev": "long"}


def table(rows: list[dict], gap: int) -> str:
    """Markdown table; changes are relative to the REFERENCE row (the step it adds to)."""
    by_key = {r["key"]: r for r in rows}
    out = [f"| method | E_warp (x1e-3) | long-range, i vs i-{gap} (x1e-3) | re-appearing pixels (x1e-3) "
           "| weighted style loss | vs | style | E_warp | long-range | re-appearing | weighted content loss | wall s |",
           "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]

    def pct(a: float, b: float) -> str:
        return f"{(a / b - 1) * 100:+.1f} %" if b else ""

    for r in rows:
        ref = by_key.get(REFERENCE.get(r["key"], ""))
        cols = ["", "", "", "", ""]
        if ref:
            cols = [ref["key"], pct(r["style"], ref["style"]), pct(r["e_warp"], ref["e_warp"]),
                    pct(r["long_all"], ref["long_all"]), pct(r["long_reappear"], ref["long_reappear"])]
        out.append(f"| {r['label']} | {r['e_warp'] * 1e3:.3f} | {r['long_all'] * 1e3:.3f} | {r['long_reappear'] * 1e3:.3f} "
                   f"| {r['style']:.4g} | {' | '.join(cols)} | {r['content']:.4g} | {r['secs']:.0f} |")
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
