#!/usr/bin/env python3
"""Where a live frame's CPU time goes outside the network: FrameEngine at the frame's size and
the CPU render scale, temporal on, everything in the calling thread on one torch thread (the
flow worker's prefetch turned off), the network replaced by its stored outputs; cProfile.

Not the shipped schedule (that overlaps the halves on two threads; bench/live_cpu.py times it):
a diagnostic of what each step costs.

    python bench/cpu_frame_profile.py [--clip nature_forest_hikers.mp4] [--frames 40] [--sort tottime]
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))

from models.engine import FrameEngine, frames_from_u8, frames_to_u8  # noqa: E402
from models.guided import RenderScale, downscale  # noqa: E402
from models.styles.registry import load_stylizer  # noqa: E402
from models.temporal.blender import TemporalConfig  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default="nature_forest_hikers.mp4")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--scale", type=float, default=0.75)
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--sort", default="tottime")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    clip = SHARED / "data" / "video" / "clips" / args.clip
    if not clip.is_file():
        print(f"cpu_frame_profile: clip not found: {clip} (needs ../shared)")
        return 2
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    from models.io import open_video

    frames = []
    with open_video(clip) as r:
        for f in r:
            frames.append(np.ascontiguousarray(f))
            if len(frames) >= args.frames:
                break
    net = load_stylizer(args.style, device="cpu")
    render = RenderScale(scale=args.scale)
    eng = FrameEngine(device="cpu", render=render)
    outs = []
    with torch.inference_mode():
        for f in frames:
            x = frames_from_u8(torch.from_numpy(f[None]), torch.float32)
            outs.append(net(downscale(x, render.size(*x.shape[-2:]))).clamp(0, 1))
    cur = [0]
    blender = eng.blender(TemporalConfig())
    blender.prefetch = lambda x: None  # type: ignore[method-assign]  # everything in this thread
    prof = cProfile.Profile()
    warm = 5
    with torch.inference_mode():
        for i, f in enumerate(frames):
            cur[0] = i
            if i == warm:
                c0 = time.process_time()
                prof.enable()
            x = frames_from_u8(torch.from_numpy(f[None]), torch.float32)
            frames_to_u8(eng.stylize_tensor(x, lambda _x: outs[cur[0]], [blender])).numpy()
        prof.disable()
        c1 = time.process_time()
    print(f"{args.clip} {frames[0].shape[1]}x{frames[0].shape[0]}, render {args.scale:g}: CPU outside the network "
          f"{(c1 - c0) / (len(frames) - warm) * 1e3:.1f} ms per frame (1 thread)")
    pstats.Stats(prof).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
