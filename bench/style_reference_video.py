#!/usr/bin/env python3
"""Our styles versus Engstrom's networks on real video frames at the frame's own size (issue #17).

For wave, the_scream and udnie: frames of one clip (``--clip``, its own size unless
``--frame-size WxH``) are stylized by Engstrom's network at full size and by ours through
models.engine.FrameEngine (the per-frame path of live / serve / stylize / video --method fast) at
each ``--render-scales`` value (the network at s x the frame's size, guided upsampling back);
both go through the engine's uint8 in/out. Scores, as bench/style_reference.py:
  * style: VGG19 Gram loss to the painting (relu1_1..relu5_1, Gram / (C*H*W), mean squared
    difference summed over layers); the painting resized (bilinear, antialiased) so that its
    LONG side equals ``--style-size``: ``frame`` = the frame's long side (the painting shown at the
    frame's size: the primary figure), ``native`` (the painting's own file size; Engstrom trained
    on it so), or a number of pixels (sensitivity checks);
  * content: VGG19 relu4_2 mean squared difference to the frame.
Ratios are ours / Engstrom's of the losses summed over the frames (the target is <= 1.2 on both).
Needs ../shared (VGG19 trunk, Engstrom's networks, paintings, clips); never downloads.

    python bench/style_reference_video.py --clip cockatoo_720p.mp4 --frame-indices 40 200 \
        --render-scales 1 0.75 0.5 0.4 --style-size frame 512 [--ours wave=PATH ...] [--json F]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))

from bench.style_reference import PAIRS, STYLE_LAYERS, _ours  # noqa: E402


def read_frames(clip: str, indices: list[int], size: tuple[int, int] | None) -> list[np.ndarray]:
    """The frames ``indices`` of ``clip`` (a path, or a name under shared/data/video[/clips])."""
    from models.io import open_video, resize_frame

    path = Path(clip)
    if not path.exists():
        for d in (SHARED / "data/video", SHARED / "data/video/clips"):
            if (d / clip).exists():
                path = d / clip
    want, out = set(indices), {}
    for i, f in enumerate(open_video(path)):
        if i in want:
            out[i] = np.ascontiguousarray(resize_frame(f, size) if size else f)
        if len(out) == len(want):
            break
    if len(out) != len(want):
        raise SystemExit(f"{clip}: only {i + 1} frames; asked for {sorted(want)}")
    return [out[i] for i in indices]


def painting(name: str, long_side: int | None) -> torch.Tensor:
    """The painting scaled to ``long_side`` (None: its own size)."""
    from models.io import read_image, to_tensor

    x = to_tensor([read_image(SHARED / "data/styles" / f"{name}.jpg")], device="cpu", dtype=torch.float32)
    h, w = x.shape[-2:]
    if long_side is None:
        return x
    s = long_side / max(h, w)
    return F.interpolate(x, size=(round(h * s), round(w * s)), mode="bilinear", antialias=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", required=True, help="video file (name under ../shared/data/video[/clips] or a path)")
    ap.add_argument("--frame-indices", type=int, nargs="+", default=[0, 100, 200])
    ap.add_argument("--frame-size", help="WxH to resize the frames to (default: the clip's own size)")
    ap.add_argument("--render-scales", type=float, nargs="+", default=[1.0, 0.75, 0.5, 0.4])
    ap.add_argument("--ref-scales", type=float, nargs="*", default=[],
                    help="also run Engstrom's network at these render scales (a control: does the metric "
                         "reward larger strokes by itself?); ratios stay against Engstrom's at full size")
    ap.add_argument("--style-size", nargs="+", default=["frame"],
                    help="painting long side(s): 'frame' (= the frame's long side), 'native' or pixels; the first is primary")
    ap.add_argument("--ours", action="append", default=[],
                    help="STYLE=NAME_OR_PATH, repeatable, several per style allowed (default: bundled NAME)")
    ap.add_argument("--only", action="append", default=[], help="restrict to these styles")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write every figure to this JSON file")
    ap.add_argument("--figure", help="also write a JPEG/PNG: per style, painting | frame | each network "
                                     "(the first frame, scaled to --figure-height)")
    ap.add_argument("--figure-height", type=int, default=180)
    a = ap.parse_args()
    if not (SHARED / "weights/fast_style").is_dir():
        raise SystemExit(f"needs the shared data (VGG19, Engstrom's networks, clips): {SHARED} not found; "
                         f"set STYLECAST_SHARED")
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(False)
    sys.path.insert(0, str(SHARED / "tools"))
    import reference_nets  # type: ignore[import-not-found]

    from models.engine import FrameEngine
    from models.guided import RenderScale
    from models.io import to_tensor
    from models.losses.functional import content_loss, gram
    from models.losses.networks import build_loss_network

    size = tuple(int(v) for v in a.frame_size.lower().split("x"))[::-1] if a.frame_size else None
    frames = read_frames(a.clip, a.frame_indices, size)
    h, w = frames[0].shape[:2]
    sides = [max(h, w) if s == "frame" else None if s == "native" else int(s) for s in a.style_size]
    net = build_loss_network("vgg19", weights=str(SHARED / "weights/vgg19_imagenet_features.fp16.safetensors"),
                             taps=[*STYLE_LAYERS, "relu4_2"]).float()

    def feats(u8: np.ndarray) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        f = net(to_tensor([u8], device="cpu", dtype=torch.float32))
        return {k: gram(f[k]) for k in STYLE_LAYERS}, f["relu4_2"]

    ours: dict[str, list[str]] = {}
    for spec in a.ours:
        k, v = spec.split("=", 1)
        ours.setdefault(k, []).append(v)
    content = [feats(f)[1] for f in frames]
    print(f"{a.clip}: frames {a.frame_indices} at {w}x{h}; paintings at long side {sides} (first primary); "
          f"VGG19; {a.threads} torch thread(s); load {os.getloadavg()[0]:.1f}", flush=True)
    strips: list[list[np.ndarray]] = []
    results = {"clip": a.clip, "frames": a.frame_indices, "size": [w, h], "style_sides": sides, "styles": {}}
    for name, (ref_file, pname) in PAIRS.items():
        if a.only and name not in a.only:
            continue
        targets = []
        for side in sides:
            t = net(painting(pname, side))
            targets.append({k: gram(t[k]) for k in STYLE_LAYERS})
        ref = reference_nets.load_style_net(str(SHARED / "weights/fast_style" / f"{ref_file}.safetensors")).eval()
        variants = [("Engstrom", ref, 1.0)] + [(f"Engstrom@{s:g}", ref, s) for s in a.ref_scales]
        for spec in ours.get(name, [name]):
            mine = _ours(spec)
            label = "ours" if spec == name else f"ours[{Path(spec).stem}]"
            variants += [(f"{label}@{s:g}", mine, s) for s in a.render_scales]
        rows: dict[str, dict] = {}
        strips.append([_fit(np.ascontiguousarray(painting(pname, None)[0].permute(1, 2, 0).mul(255).round()
                                                 .byte().numpy()), a.figure_height), _fit(frames[0], a.figure_height)])
        for label, model, scale in variants:
            eng = FrameEngine(render=RenderScale(scale=scale))
            per_layer = np.zeros((len(frames), len(sides), len(STYLE_LAYERS)))
            co = np.zeros(len(frames))
            t0 = time.perf_counter()
            for i, f in enumerate(frames):
                out = eng.process_frame(f, model)
                if i == 0:
                    strips[-1].append(_fit(out, a.figure_height))
                g, c = feats(out)
                for j, tg in enumerate(targets):
                    per_layer[i, j] = [float(torch.mean((g[k] - tg[k]) ** 2)) for k in STYLE_LAYERS]
                co[i] = float(content_loss(c, content[i]))
            st = per_layer.sum(-1)
            rows[label] = {"style": st.tolist(), "content": co.tolist(), "style_per_layer": per_layer.tolist(),
                           "s": time.perf_counter() - t0}
            base = rows["Engstrom"]
            rs = st.sum(0) / np.array(base["style"]).sum(0)
            rc = co.sum() / np.array(base["content"]).sum()
            worst = (st[:, 0] / np.array(base["style"])[:, 0]).max()
            print(f"{name:10s} {label:26s} style {st[:, 0].mean():9.3g} x{rs[0]:5.2f} (worst frame x{worst:4.2f};"
                  f" other sizes {' '.join(f'x{r:4.2f}' for r in rs[1:])})  content {co.mean():9.3g} x{rc:5.2f}"
                  f"  [{rows[label]['s']:.0f} s]", flush=True)
        results["styles"][name] = rows
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
        print("wrote", a.json)
    if a.figure and strips:
        from models.io import write_image

        lines = [np.concatenate([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=255) for t in r], axis=1)
                 for r in strips]
        width = max(line.shape[1] for line in lines)
        lines = [np.pad(line, ((0, 4), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
        print("wrote", write_image(a.figure, np.concatenate(lines, axis=0)))


def _fit(u8: np.ndarray, h: int) -> np.ndarray:
    from models.io import resize_frame

    return resize_frame(u8, (h, round(u8.shape[1] * h / u8.shape[0])))


if __name__ == "__main__":
    main()
