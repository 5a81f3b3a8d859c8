#!/usr/bin/env python3
"""Render scale: speed of `stylecast live` and the style kept, against full size in the same run.

quality: for each clip and bundled style whose painting is in ../shared/data/styles, every
  ``--every``-th of ``--frames`` frames is stylized through models.engine.FrameEngine (the code the
  apps run) per frame at each render scale (guided upsampling back to the frame's size) and,
  for the default scale, also with the temporal step on (the live configuration). Figures:
  * style ratio: VGG19 Gram style loss to the painting (relu1_1..relu5_1, Gatys et al. 2016, the
    painting resized to the frame's longer side) / the same loss of the full-size per-frame
    output. Target: <= 1.15 at the default scale with temporal on.
  * content: VGG19 relu4_2 distance to the full-size output, ||F(out)-F(full)||^2 / ||F(full)||^2.
speed: `stylecast live --source CLIP --sink null --device cpu --max-frames N` run as a subprocess
  (the real CLI path, temporal on), at --render-scale 1 (the baseline) and at each scale: the wall
  fps the CLI reports, and the CPU time per frame (N+2 frames minus 2 frames, so start-up cancels),
  which on a shared machine is the steadier figure; speed-up = CPU time at scale 1 / at scale S.

    python bench/render_scale.py [--part quality|speed|all] [--clips nature_forest_hikers.mp4]
        [--scales 1 0.75 0.5 0.4] [--frames 60] [--threads 2]
Tuning clip: slowpan_city_cc0.mpg (the default scale was picked on it); report clip:
nature_forest_hikers.mp4 (unseen), both 640x480-ish.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))
sys.path.insert(0, str(SHARED / "tools"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/live_cpu.py

from models.engine import FrameEngine  # noqa: E402
from models.guided import RenderScale  # noqa: E402
from models.losses.functional import gram  # noqa: E402

STYLES = ("starry_night", "the_scream", "wave")
VGG_TAPS = (1, 6, 11, 20, 29)  # relu1_1 .. relu5_1
CONTENT_TAP = 22  # relu4_2
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def vgg_feats(vgg: torch.nn.Module, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    h, grams, content = (x.float() - MEAN) / STD, [], None
    with torch.no_grad():
        for i, layer in enumerate(vgg):
            h = layer(h)
            if i in VGG_TAPS:
                grams.append(gram(h))
            if i == CONTENT_TAP:
                content = h.clone()
            if i == max(VGG_TAPS):
                break
    return grams, content


def style_loss(g: list[torch.Tensor], ref: list[torch.Tensor]) -> float:
    return float(sum(((a - b) ** 2).mean() for a, b in zip(g, ref)))


def read_clip(name: str, n: int) -> list[np.ndarray]:
    """``n`` RGB frames of ``name``: a file under data/video or data/video/clips;
    ``NAME@K`` skips the first K frames (e.g. ``big_buck_bunny_480p_30s.mp4@240``, after the fade)."""
    import av

    name, _, skip = name.partition("@")
    path = SHARED / "data" / "video" / name
    if not path.is_file():
        path = SHARED / "data" / "video" / "clips" / name
    out, k = [], 0
    with av.open(str(path)) as c:
        for fr in c.decode(video=0):
            k += 1
            if k <= int(skip or 0):
                continue
            out.append(np.ascontiguousarray(fr.to_ndarray(format="rgb24")))
            if len(out) == n:
                break
    return out


def painting(name: str, side: int) -> torch.Tensor:
    import cv2

    bgr = cv2.imread(str(SHARED / "data" / "styles" / f"{name}.jpg"))
    h, w = bgr.shape[:2]
    s = side / max(h, w)
    rgb = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)[..., ::-1]
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0


def quality(args: argparse.Namespace) -> None:
    import reference_nets as rn

    from models.styles.registry import load_stylizer
    from models.temporal.blender import TemporalBlender

    vgg = rn.load_vgg19_features(str(SHARED / "weights" / "vgg19_imagenet_features.fp16.safetensors"))
    default = RenderScale(scale=args.default_scale, **({} if args.sharpen is None else {"sharpen": args.sharpen}))
    print(f"\n## quality: style loss ratio to the full-size per-frame output (lower = more style), "
          f"content distance to it; every {args.every}th of {args.frames} frames")
    print("| clip | style | render | style ratio | content dist |")
    print("|---|---|---|---|---|")
    for clip in args.clips:
        frames = read_clip(clip, args.frames)
        idx = list(range(0, len(frames), args.every))
        for style in args.styles:
            net = load_stylizer(style)
            ref = vgg_feats(vgg, painting(style, max(frames[0].shape[:2])))[0]
            full: dict[int, tuple[float, torch.Tensor]] = {}
            sharp = {} if args.sharpen is None else {"sharpen": args.sharpen}
            variants = [(f"{s:g}", RenderScale(scale=s, **sharp), False) for s in ([1.0] if args.no_single else args.scales)]
            if not args.no_single:
                variants.append(("1 + temporal", RenderScale(), True))  # what temporal alone costs
            variants.append((f"{args.default_scale:g} + temporal", default, True))
            for label, render, temporal in variants:
                eng = FrameEngine(render=render)
                blender = TemporalBlender() if temporal else None
                losses, dists = [], []
                for i, f in enumerate(frames):
                    if not temporal and i not in idx:
                        continue
                    out = eng.process_frame(f, net, blender)
                    if i not in idx:
                        continue
                    g, c = vgg_feats(vgg, torch.from_numpy(out).permute(2, 0, 1)[None].float() / 255.0)
                    sl = style_loss(g, ref)
                    if label == "1":
                        full[i] = (sl, c)
                    losses.append(sl / full[i][0])
                    dists.append(float(((c - full[i][1]) ** 2).sum() / (full[i][1] ** 2).sum()))
                print(f"| {clip} | {style} | {label} | {np.mean(losses):.3f} (max {np.max(losses):.3f}) | "
                      f"{np.mean(dists):.3f} |", flush=True)


def flicker(args: argparse.Namespace) -> None:
    """E_warp (Lai et al. 2018, DIS medium flow of the input, fwd-bwd mask) of the live CPU
    configuration (FrameEngine at the default scale, temporal on) / that of full-size per-frame
    output, with and without the upsampling's sharpening: the flicker the CPU defaults leave."""
    from models.flow.estimators import DISConfig, DISFlow
    from models.styles.registry import load_stylizer
    from models.temporal.blender import TemporalBlender, TemporalConfig
    from models.temporal.metrics import pair_warping_errors

    est = DISFlow(DISConfig(preset="medium", max_side=None))
    print(f"\n## flicker: E_warp / full-size per-frame E_warp, {args.frames} frames, scale {args.default_scale:g} + temporal")
    presets = args.flow_presets or []
    print("| clip | style | full size per frame (E_warp x1e3) | scale + temporal, sharpen 0.25 | scale + temporal, sharpen 0 |"
          + "".join(f" sharpen 0.25, DIS {p} |" for p in presets))
    print("|---|---|---|---|---|" + "---|" * len(presets))
    for clip in args.clips:
        frames = read_clip(clip, args.frames)
        x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255.0
        fl = torch.cat([est(x[i:i + 1], x[i + 1:i + 2]) for i in range(len(x) - 1)])
        fb = torch.cat([est(x[i + 1:i + 2], x[i:i + 1]) for i in range(len(x) - 1)])
        for style in args.styles:
            net = load_stylizer(style)
            row = []
            runs = [(RenderScale(), None), (RenderScale(scale=args.default_scale, sharpen=0.25), TemporalConfig()),
                    (RenderScale(scale=args.default_scale, sharpen=0.0), TemporalConfig())]
            for p in presets:  # "preset", "preset:max_side" or "preset:max_side:check"
                name, side, check = (p.split(":") + ["", ""])[:3]
                cfg = TemporalConfig(flow_preset=name, **({"flow_max_side": int(side)} if side else {}),
                                     **({"check": check} if check else {}))
                runs.append((RenderScale(scale=args.default_scale, sharpen=0.25), cfg))
            for render, cfg in runs:
                eng = FrameEngine(render=render)
                blender = TemporalBlender(cfg) if cfg is not None else None
                out = np.stack([eng.process_frame(f, net, blender) for f in frames])
                y = torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0
                row.append(float(pair_warping_errors(x, y, fl, flow_back=fb).mean()))
            print(f"| {clip} | {style} | {1e3 * row[0]:.3f} | " + " | ".join(f"{r / row[0]:.3f}x" for r in row[1:]) + " |",
                  flush=True)


def _live_once(clip: str, scale: float, frames: int, threads: int) -> tuple[float, float, str]:
    """(wall fps as the CLI reports it, CPU seconds the child used, the per-stage line)."""
    from live_cpu import live

    fps, cpu, line, _ = live(SHARED / "data" / "video" / "clips" / clip, frames, ["--render-scale", f"{scale:g}"],
                             {"OMP_NUM_THREADS": str(threads)})
    return fps, cpu, line


def run_live(clip: str, scale: float, frames: int, threads: int) -> tuple[float, float, str]:
    """Wall fps, CPU ms per frame (a run of ``frames`` + 2 minus a run of 2: start-up cancels out;
    on a shared machine CPU time is far steadier than wall time), stage line."""
    _, cpu_short, _ = _live_once(clip, scale, 2, threads)
    fps, cpu_long, line = _live_once(clip, scale, frames + 2, threads)
    return fps, (cpu_long - cpu_short) / frames * 1e3, line


def speed(args: argparse.Namespace) -> None:
    print(f"\n## speed: `stylecast live` CLI, {args.speed_frames} frames, temporal on, "
          f"OMP_NUM_THREADS={args.threads}, load before: {os.getloadavg()[0]:.1f}")
    print("| clip | render scale | wall fps | CPU ms/frame | CPU-bound fps (1 core) | speed-up vs 1 | stages (wall ms) |")
    print("|---|---|---|---|---|---|---|")
    for clip in args.clips:
        base_fps, base_cpu, line = run_live(clip, 1.0, args.speed_frames, args.threads)
        print(f"| {clip} | 1 | {base_fps:.2f} | {base_cpu:.0f} | {1e3 / base_cpu:.1f} | 1.00x | {line} |", flush=True)
        for s in args.scales:
            if s == 1.0:
                continue
            fps, cpu, line = run_live(clip, s, args.speed_frames, args.threads)
            print(f"| {clip} | {s:g} | {fps:.2f} | {cpu:.0f} | {1e3 / cpu:.1f} | {base_cpu / cpu:.2f}x | {line} |",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("quality", "flicker", "speed", "all"), default="all")
    ap.add_argument("--clips", nargs="+", default=["nature_forest_hikers.mp4"])
    ap.add_argument("--scales", nargs="+", type=float, default=[1.0, 0.75, 0.5, 0.4])
    ap.add_argument("--default-scale", type=float, default=0.5)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--every", type=int, default=8)
    ap.add_argument("--speed-frames", type=int, default=60)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--styles", nargs="+", default=list(STYLES),
                    help="bundled styles whose painting is in ../shared/data/styles")
    ap.add_argument("--flow-presets", nargs="*", help="flicker: extra columns with these DIS presets, PRESET[:MAX_SIDE[:CHECK]] "
                                                      "(e.g. fast, medium:400)")
    ap.add_argument("--sharpen", type=float, default=None, help="RenderScale.sharpen (default: the shipped value)")
    ap.add_argument("--no-single", action="store_true",
                    help="quality: only full size and the default scale with temporal (skip the per-scale rows)")
    args = ap.parse_args()
    if 1.0 not in args.scales:
        args.scales.insert(0, 1.0)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    print(f"# render scale bench, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"torch {torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if args.part in ("quality", "all"):
        quality(args)
    if args.part in ("flicker", "all"):
        flicker(args)
    if args.part in ("speed", "all"):
        speed(args)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
