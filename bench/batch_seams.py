#!/usr/bin/env python3
"""Do chunk seams show? ``stylecast batch`` (the CLI path) on a real clip split into chunks that
overlap by K frames and are cross-faded; E_warp (Lai et al. 2018) of the frame pairs at seams
against the pairs inside chunks, on the frames that get encoded (the job's PNGs, before x264).
Baseline in the same run: the same chunks with no overlap (a hard switch at each border).

    .venv/bin/python bench/batch_seams.py                       # fast method, 2 clips
    .venv/bin/python bench/batch_seams.py --method ruder --frames 30 --chunk 10 --max-side 96 --iterations 30
Target (issue 19): seam / inside <= 1.5.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from models.cli import main as cli  # noqa: E402
from offline.batch.plan import SplitConfig, plan_chunks  # noqa: E402
from offline.batch.seams import seam_report  # noqa: E402
from offline.ruder.job import read_png, u8_to_tensor  # noqa: E402

SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))
CLIPS = ("clips/nature_forest_hikers.mp4", "clips/zoomlike_dashcam.mp4")


def frames(d: Path, n: int) -> torch.Tensor:
    return torch.cat([u8_to_tensor(read_png(d / f"{i:06d}.png")) for i in range(n)])


def run(clip: Path, work: Path, a: argparse.Namespace, overlap: int) -> tuple[object, float]:
    out = work / f"{clip.stem}_ov{overlap}"
    shutil.rmtree(out, ignore_errors=True)
    args = ["batch", str(clip), "-o", str(out), "--method", a.method, "--device", "cpu", "--max-side", str(a.max_side),
            "--max-frames", str(a.frames), "--chunk-frames", str(a.chunk), "--overlap", str(overlap),
            "--no-cut-split", "--keep-job"]
    if a.method != "fast":
        args += ["--style-image", str(SHARED / "data/styles/wave.jpg"), "--iterations", str(a.iterations),
                 "--first-iterations", str(2 * a.iterations), "--long-term", "1",
                 "--loss-weights", str(SHARED / "weights/vgg19_imagenet_features.fp16.safetensors")]
    t0 = time.perf_counter()
    assert cli(args) == 0, f"batch failed on {clip}"
    wall = time.perf_counter() - t0
    job = out / f"{clip.stem}.mp4.job"
    chunks = plan_chunks(a.frames, [], SplitConfig(chunk_frames=a.chunk, overlap=overlap, cut_threshold=None))
    orig, styl = frames(job / "frames", a.frames), frames(job / "out" / "batch", a.frames)
    return seam_report(orig, styl, chunks), wall


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--method", choices=("fast", "ruder"), default="fast")
    p.add_argument("--frames", type=int, default=72)
    p.add_argument("--chunk", type=int, default=24)
    p.add_argument("--overlap", type=int, default=8)
    p.add_argument("--max-side", type=int, default=160)
    p.add_argument("--iterations", type=int, default=40)
    p.add_argument("--clips", type=int, default=len(CLIPS), help="only the first N clips")
    p.add_argument("--no-baseline", action="store_true", help="skip the overlap-0 runs")
    a = p.parse_args()
    torch.set_num_threads(1)
    clips = [SHARED / "data/video" / c for c in CLIPS[:a.clips] if (SHARED / "data/video" / c).exists()]
    if not clips:
        print(f"no clips under {SHARED}/data/video; set STYLECAST_SHARED")
        return 1
    print(f"method {a.method}, {a.frames} frames at max side {a.max_side}, chunks of {a.chunk}, overlap {a.overlap}; "
          f"torch threads 1")
    print("| clip | overlap | E_warp seam | E_warp inside | ratio | pairs seam/inside | wall s |")
    print("|---|---|---|---|---|---|---|")
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            for ov in (a.overlap,) if a.no_baseline else (a.overlap, 0):
                r, wall = run(clip, Path(tmp), a, ov)
                if ov:
                    worst = max(worst, r.ratio)
                print(f"| {clip.name} | {ov} | {r.seam:.5f} | {r.inside:.5f} | {r.ratio:.2f} | {r.n_seam}/{r.n_inside} | {wall:.0f} |",
                      flush=True)
    print(f"worst seam/inside with overlap {a.overlap}: {worst:.2f} (target <= 1.5): {'PASS' if worst <= 1.5 else 'FAIL'}")
    return 0 if worst <= 1.5 else 2


if __name__ == "__main__":
    sys.exit(main())
