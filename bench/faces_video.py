"""Face video benchmark for `offline.faces` (figures for docs/bench/faces.md).

The shared videos contain no faces, so the clip is generated from two shared portraits
(../shared/data/faces/photos): both side by side in each 512x256 frame (two faces per frame),
moving with a slow pan and zoom, with per-frame sensor noise; the last frames show a street
photo without faces (pass-through). Reports per-frame time, faces found, E_warp (Lai et al.
2018, DIS flow on the input) and face-region flicker on a still segment, with and without the
temporal measures (landmark smoothing, label stickiness, flow blending) measured in the same run.
Usage: .venv/bin/python bench/faces_video.py [--frames 16] [--out /tmp/faces_video.mp4]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from models import media  # noqa: E402
from models.flow.estimators import DISFlow  # noqa: E402
from models.temporal.metrics import warping_error  # noqa: E402
from offline.faces import FaceStyleConfig, FaceStylizer, load_exemplars  # noqa: E402
from offline.faces.landmarks import default_detector  # noqa: E402
from offline.faces.video import VideoFaceStylizer  # noqa: E402

PHOTOS = ("girl-2128294_1920.png", "male-467711_1920.png")


def make_clip(n: int, *, motion: float, noise: float, tail: int) -> list[np.ndarray]:
    imgs = [cv2.cvtColor(cv2.imread(str(SHARED / "data/faces/photos" / p)), cv2.COLOR_BGR2RGB) for p in PHOTOS]
    street = cv2.cvtColor(cv2.imread(str(SHARED / "data/content/chicago.jpg")), cv2.COLOR_BGR2RGB)
    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        halves = []
        for k, img in enumerate(imgs):
            s = 0.5 * (1.0 + 0.008 * i * motion)
            dx, dy = (1.5 if k == 0 else -1.0) * i * motion, 0.6 * i * motion
            m = np.array([[s, 0, dx], [0, s, dy]])
            halves.append(cv2.warpAffine(img, m, (256, 256), borderMode=cv2.BORDER_REFLECT))
        f = np.hstack(halves).astype(np.float32) + rng.normal(0, noise, (256, 512, 3))
        frames.append(np.clip(f, 0, 255).astype(np.uint8))
    frames += [cv2.resize(street, (512, 256))] * tail
    return frames


def run(frames: list[np.ndarray], stylizer: FaceStylizer, flow: DISFlow | None) -> tuple[list[np.ndarray], list[int], float]:
    video = VideoFaceStylizer(stylizer, flow=flow)
    t0 = time.perf_counter()
    res = [video(f) for f in frames]
    return [o for o, _ in res], [n for _, n in res], (time.perf_counter() - t0) / len(frames)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--out", default="/tmp/faces_video.mp4")
    args = ap.parse_args()
    det = default_detector()
    ex = load_exemplars(SHARED / "data/faces/exemplars_sketch", det)
    off = FaceStyleConfig(landmark_smoothing=0.0, label_stickiness=0.0, temporal_strength=0.0)
    moving = make_clip(args.frames, motion=1.0, noise=3.0, tail=2)
    still = make_clip(8, motion=0.0, noise=6.0, tail=0)
    print("| clip | temporal | s/frame | faces per frame | E_warp ×1e3 | face flicker (mean abs Δ, 0-255) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, frames in (("moving, 2 faces + 2 face-less frames", moving), ("still, 2 faces, noise σ=6", still)):
        for name, cfg, flow in (("off", off, None), ("on (default)", FaceStyleConfig(), DISFlow())):
            outs, faces, spf = run(frames, FaceStylizer(ex, config=cfg, detector=det), flow)
            ew = warping_error(media.to_tensor(frames), media.to_tensor(outs)) * 1e3
            faced = np.stack(outs[: len(frames) - (2 if frames is moving else 0)]).astype(np.float32)
            flick = float(np.abs(np.diff(faced[:, 60:200, 60:200], axis=0)).mean()) if frames is still else float("nan")
            print(f"| {label} | {name} | {spf:.2f} | {','.join(map(str, faces))} | {ew:.3f} | {flick:.2f} |", flush=True)
            if frames is moving and name.startswith("on"):
                with media.VideoWriter(args.out, width=512, height=256, fps=12) as w:
                    for o in outs:
                        w.write(o)
                cv2.imwrite(str(Path(args.out).with_suffix(".png")),
                            cv2.cvtColor(np.hstack([frames[5], outs[5]]), cv2.COLOR_RGB2BGR))
    print(f"video written to {args.out}")


if __name__ == "__main__":
    main()
