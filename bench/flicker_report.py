"""Flicker / style report that cannot overfit: a fixed tuning half and a report half of real clips.

Eight real clips of different motion from ../shared/data/video (see CLIPS; seven at >= 480 px
height, Sintel at 1024x436 = more pixels than 854x480), split once, here, into two halves:

* tuning: cockatoo (720p, a bird moving, steady camera), bunny (854x480 animation), sintel
  (fast action, 1024x436), static_marathon (960x540, static camera, dense crowd). The live
  blend's settings may be chosen on these only (the first three are also the clips every earlier
  live setting was tuned on, at 160-320 px).
* report: handheld_selfie (640x480, shaky handheld, faces), dashcam (1280x720, forward motion,
  static overlay), forest (640x480, foliage, near-static then a pan), webcam (640x480, static
  shot, face and hands moving). Never used to choose anything; the figures to quote.

For each clip, a short window of ``--frames`` consecutive frames (default 6) from a fixed start
is read at the clip's own size (``--height H`` rescales, for the resolution ablation). Every
bundled style network (models/styles/, through models.styles.registry.load_stylizer, i.e. what the apps
run, colour preservation included) stylizes every frame once ("per-frame"); each live
TemporalBlender variant then runs over those outputs exactly as the live loop does.

Per clip x style x variant:
* E_warp (Lai et al. 2018, models.temporal.metrics): flows estimated on the ORIGINAL frames with DIS
  "medium" at full size (independent of the live flow, whose grid and preset are what the variants change), Ruder occlusion mask;
  ratio = variant / per-frame stylization of the same network.
* style loss to the painting: VGG19 (ImageNet, ../shared/weights) Gram loss, sum over
  relu1_1..relu5_1 of mean squared Gram difference, on the centre 384x384 crop of frames
  T//2 and T-1 at the frame's own scale (a crop keeps the stroke size; the whole frame would
  cost 3-6x more); the painting resized to the frame's longer side. Rise vs per-frame in %.
Summary per half and variant: median and worst (max) of the ratio and of the rise.

Results accumulate in a JSON file (``--out``, keyed by clip/size/style/variant), so the report can
be built in several short runs (``--half``, ``--styles``, ``--variants``) and printed again with
``--table-only``.

    python bench/flicker_report.py --half report --out /tmp/flicker.json     # ~4-6 min, 1 thread
    python bench/flicker_report.py --table-only --out /tmp/flicker.json
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.flow.estimators import DISConfig, DISFlow  # noqa: E402
from models.losses.functional import gram  # noqa: E402
from models.temporal.metrics import pair_warping_errors  # noqa: E402
from models.temporal.blender import TemporalBlender, TemporalConfig  # noqa: E402

# name: (path under data/video, first frame, half, motion)
CLIPS: dict[str, tuple[str, int, str, str]] = {
    "cockatoo": ("cockatoo_720p.mp4", 40, "tuning", "bird moving, steady camera"),
    "bunny": ("big_buck_bunny_480p_30s.mp4", 240, "tuning", "animation, slow motion (after the fade)"),
    "sintel": ("sintel_mountain_2", 10, "tuning", "fast action, camera motion"),
    "static_marathon": ("clips/static_marathon.mkv", 40, "tuning", "static camera, dense crowd"),
    "handheld_selfie": ("clips/handheld_selfie_face.mp4", 60, "report", "shaky handheld, faces"),
    "dashcam": ("clips/zoomlike_dashcam.mp4", 40, "report", "forward motion (zoom-like), static overlay"),
    "forest": ("clips/nature_forest_hikers.mp4", 120, "report", "foliage, near-static camera"),
    "webcam": ("clips/face_webcam_asl_book.mkv", 30, "report", "webcam, face and hands"),
}
HALVES = ("tuning", "report")
VGG_TAPS = (1, 6, 11, 20, 29)  # relu1_1 .. relu5_1
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
CROP = 384

# The live blend's variants. "live" is whatever TemporalConfig() is today; the others ablate one
# part of it each (issue 17 item 4) and are chosen on the tuning half only.
VARIANTS: dict[str, TemporalConfig | None] = {
    "per-frame": None,
    "live": TemporalConfig(),  # today's default
    # The default before issue 17 (DIS "fast" at 320 px); rows named "live" in results made
    # before the default changed were renamed to this.
    "v1-fast-320": TemporalConfig(flow_preset="fast", flow_max_side=320),
    # item 4 ablations, one change each against v1 (the default when they were run)
    "flow-640": TemporalConfig(flow_preset="fast", flow_max_side=640),
    "flow-full": TemporalConfig(flow_preset="fast", flow_max_side=4096),
    "flow-medium": TemporalConfig(flow_preset="medium", flow_max_side=320),
    "flow-640-medium": TemporalConfig(flow_max_side=640, flow_preset="medium"),  # the live default from 6b until 6i
    "flow-full-medium": TemporalConfig(flow_max_side=4096, flow_preset="medium"),
    # issue 17 item 4 (720p): the flow grid at 960 / 1280 px, and the blend strength with it
    "flow-960-medium": TemporalConfig(flow_max_side=960, flow_preset="medium"),
    "flow-1280-medium": TemporalConfig(flow_max_side=1280, flow_preset="medium"),
    "flow-1280-s0.88": TemporalConfig(flow_max_side=1280, strength=0.88),
    "flow-1280-s0.85": TemporalConfig(flow_max_side=1280, strength=0.85),
    "bilinear-history": TemporalConfig(flow_preset="fast", flow_max_side=320, history_resampling="bilinear"),
    "no-restore": TemporalConfig(flow_preset="fast", flow_max_side=320, preserve_contrast=False),
    "restore-fresh": TemporalConfig(flow_preset="fast", flow_max_side=320, detail_target="fresh"),
    "no-photometric": TemporalConfig(flow_preset="fast", flow_max_side=320, photometric_threshold=None),
    "mask-bwd-only": TemporalConfig(flow_preset="fast", flow_max_side=320, check="bwd"),
    # issue 16 (CPU speed, 2026-12-03): one DIS flow per frame instead of two (rejected: the
    # occlusion mask's recall drops, docs/bench/render_scale.md §9)
    "live-bwd": TemporalConfig(check="bwd"),
    # the same session: DIS "medium" with fewer variational refinement iterations (5 -> 2 / 0:
    # ~15 -> ~11 / ~9 ms per flow at 480x360)
    "live-vr2": TemporalConfig(flow_variational_iters=2),
    "live-vr0": TemporalConfig(flow_variational_iters=0),
}


def shared_dir() -> Path:
    import os

    return Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))


def _even_resize(img: np.ndarray, height: int | None) -> np.ndarray:
    if height is None or img.shape[0] == height:
        return img
    w = int(round(img.shape[1] * height / img.shape[0] / 2)) * 2
    return cv2.resize(img, (w, height), interpolation=cv2.INTER_AREA)


def read_clip(name: str, frames: int, height: int | None = None) -> np.ndarray:
    """``(T,H,W,3)`` uint8 RGB: ``frames`` consecutive frames of clip ``name`` from its start."""
    rel, start, _half, _ = CLIPS[name]
    path = shared_dir() / "data" / "video" / rel
    if path.is_dir():
        files = sorted(path.glob("frame_*.png"))[start:start + frames]
        out = [cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB) for p in files]
    else:
        import av

        out = []
        with av.open(str(path)) as c:
            for i, fr in enumerate(c.decode(video=0)):
                if i >= start:
                    out.append(fr.to_ndarray(format="rgb24"))
                if len(out) == frames:
                    break
    if len(out) < frames:
        raise SystemExit(f"{name}: only {len(out)} frames from {start}, need {frames}")
    return np.stack([_even_resize(f, height) for f in out])


def bundled_styles(include_members: bool) -> list[str]:
    from models.styles.registry import list_styles

    return [e.name for e in list_styles() if e.source == "bundled" and (include_members or not e.network)]


def painting(style: str) -> np.ndarray:
    """The style image the network was trained on, uint8 RGB."""
    from models.styles.procedural import RENDERERS, render_style_image

    key = style.partition(":")[2] or style
    if style.endswith(".safetensors"):  # a style file (e.g. a fine-tuned net): its training painting
        from models.styles.checkpoint import read_metadata

        key = Path(read_metadata(style)["training"]["style_image"]).stem
    if key in RENDERERS:
        return render_style_image(key, size=512, seed=0)
    return cv2.cvtColor(cv2.imread(str(shared_dir() / "data" / "styles" / f"{key}.jpg")), cv2.COLOR_BGR2RGB)


def vgg_grams(vgg: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    h, out = (x - MEAN) / STD, []
    for i, layer in enumerate(vgg):
        h = layer(h)
        if i in VGG_TAPS:
            out.append(gram(h))
        if i == VGG_TAPS[-1]:
            return out
    return out


def centre_crop(x: torch.Tensor, side: int = CROP) -> torch.Tensor:
    h, w = x.shape[-2:]
    s = min(side, h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return x[..., y0:y0 + s, x0:x0 + s]


def style_loss_to(vgg: torch.nn.Module, frames: torch.Tensor, target: list[torch.Tensor]) -> float:
    vals = []
    for f in frames:
        g = vgg_grams(vgg, centre_crop(f[None]))
        vals.append(sum(float(((a - b) ** 2).mean()) for a, b in zip(g, target)))
    return float(np.mean(vals))


def key(clip: str, size: str, style: str, variant: str) -> str:
    return f"{clip}|{size}|{style}|{variant}"


def run(args: argparse.Namespace, results: dict, variants: dict[str, TemporalConfig | None]) -> None:
    sys.path.insert(0, str(shared_dir() / "tools"))
    import reference_nets as rn
    from models.styles.registry import load_stylizer

    vgg = rn.load_vgg19_features(str(shared_dir() / "weights" / "vgg19_imagenet_features.fp16.safetensors"))
    est = DISFlow(DISConfig(preset="medium", max_side=None))
    styles = args.styles or bundled_styles(args.members)
    nets = {s: load_stylizer(s) for s in styles}
    clips = [c for c, v in CLIPS.items() if args.half in ("both", v[2]) and (not args.clips or c in args.clips)]
    t0 = time.perf_counter()
    for cname in clips:
        u8 = read_clip(cname, args.frames, args.height)
        x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0
        t, (h, w) = len(x), x.shape[-2:]
        size = f"{w}x{h}"
        scale = "own size" if args.height is None else f"height {args.height}"
        fl = torch.cat([est(x[i:i + 1], x[i + 1:i + 2]) for i in range(t - 1)])
        fb = torch.cat([est(x[i + 1:i + 2], x[i:i + 1]) for i in range(t - 1)])
        vgg_idx = sorted({t // 2, t - 1})
        for sname, net in nets.items():
            style_u8 = painting(sname)
            s_img = torch.from_numpy(_even_resize(style_u8, int(round(style_u8.shape[0] * max(h, w) / max(style_u8.shape[:2])))))
            target = vgg_grams(vgg, s_img.permute(2, 0, 1)[None].float() / 255.0)
            per = torch.cat([net(x[i:i + 1]).float() for i in range(t)])
            for vname, cfg in variants.items():
                if cfg is None:
                    out = per
                else:
                    b = TemporalBlender(cfg)
                    out = torch.cat([b(x[i:i + 1], per[i:i + 1]) for i in range(t)])
                e = float(pair_warping_errors(x, out, fl, flow_back=fb).mean())
                sl = style_loss_to(vgg, out[vgg_idx], target)
                results[key(cname, size, sname, vname)] = {"ewarp": e, "style": sl, "frames": t, "scale": scale}
                print(f"  {cname} {size} {sname} {vname}: E_warp {1e3 * e:.3f}e-3 style {sl:.4g} "
                      f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            if args.out:
                save(args.out, results)


def save(path: str, results: dict) -> None:
    Path(path).write_text(json.dumps(results, indent=1, sort_keys=True))


def table(results: dict, variants: list[str] | None = None) -> str:
    """Markdown: per clip x style rows, then the median / worst summary per half, size and variant."""
    rows, summary = [], {}
    groups: dict[tuple[str, str, str], dict[str, dict]] = {}
    for k, v in results.items():
        clip, size, style, variant = k.split("|")
        groups.setdefault((clip, size, style), {})[variant] = v
    lines = ["| half | clip | size | style | variant | E_warp x1e3 | ratio vs per-frame | style loss | style rise |",
             "|---|---|---|---|---|---|---|---|---|"]
    order = list(CLIPS)
    for (clip, size, style), vs in sorted(groups.items(), key=lambda g: (HALVES.index(CLIPS[g[0][0]][2]), order.index(g[0][0]), g[0][1], g[0][2])):
        base = vs.get("per-frame")
        if base is None:
            continue
        half = CLIPS[clip][2]
        for vname, r in vs.items():
            if variants and vname not in variants and vname != "per-frame":
                continue
            ratio, rise = r["ewarp"] / base["ewarp"], r["style"] / base["style"] - 1.0
            lines.append(f"| {half} | {clip} | {size} | {style} | {vname} | {1e3 * r['ewarp']:.3f} | {ratio:.2f} | "
                         f"{r['style']:.4g} | {100 * rise:+.1f} % |")
            if vname != "per-frame":
                summary.setdefault((half, r.get("scale", "own size"), vname), []).append((ratio, rise, clip, style))
    rows.append("\n".join(lines))
    s = ["| half | size | variant | n | E_warp ratio median | worst (clip, style) | style rise median | worst |",
         "|---|---|---|---|---|---|---|---|"]
    for (half, size, vname), vals in sorted(summary.items(), key=lambda kv: (HALVES.index(kv[0][0]), kv[0][1], kv[0][2])):
        ratios, rises = [v[0] for v in vals], [v[1] for v in vals]
        worst = max(vals, key=lambda v: v[0])
        worst_s = max(vals, key=lambda v: v[1])
        s.append(f"| {half} | {size} | {vname} | {len(vals)} | {statistics.median(ratios):.2f} | "
                 f"{worst[0]:.2f} ({worst[2]}, {worst[3]}) | {100 * statistics.median(rises):+.1f} % | "
                 f"{100 * worst_s[1]:+.1f} % ({worst_s[2]}, {worst_s[3]}) |")
    rows.append("\n".join(s))
    return "\n\n".join(rows)


def parse_config(name: str) -> TemporalConfig:
    """``cfg:strength=0.8,flow_max_side=1280``: a TemporalConfig with those fields changed from the default."""
    defaults = TemporalConfig()
    fields = {f.name for f in dataclasses.fields(TemporalConfig)}
    kw: dict = {}
    for item in filter(None, name[len("cfg:"):].split(",")):
        field, _, value = item.partition("=")
        if field not in fields:
            raise SystemExit(f"--variants {name}: TemporalConfig has no field {field!r}")
        default = getattr(defaults, field)
        if value == "None":
            kw[field] = None
        elif isinstance(default, bool):
            kw[field] = value == "True"
        else:
            kw[field] = int(value) if default is None else type(default)(value)
    return TemporalConfig(**kw)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("tuning", "report", "both"), default="both")
    ap.add_argument("--clips", nargs="*", default=None)
    ap.add_argument("--styles", nargs="*", default=None,
                    help="style specs or .safetensors files (default: every bundled single-style file)")
    ap.add_argument("--members", action="store_true", help="also every member of the bundled multi-style network")
    ap.add_argument("--variants", nargs="*", default=None, help=f"default: {list(VARIANTS)}")
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--height", type=int, default=None, help="rescale every clip to this height (ablation)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON results file (read, updated, written)")
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    names = args.variants or list(VARIANTS)
    unknown = sorted(n for n in set(names) - set(VARIANTS) if not n.startswith("cfg:"))
    if unknown:
        raise SystemExit(f"--variants: unknown {unknown}; available: {list(VARIANTS)} or cfg:field=value,...")
    variants = {"per-frame": None, **{k: VARIANTS[k] if k in VARIANTS else parse_config(k) for k in names}}
    results = json.loads(Path(args.out).read_text()) if args.out and Path(args.out).exists() else {}
    if not args.table_only:
        if not (shared_dir() / "data" / "video").is_dir():
            raise SystemExit(f"needs the shared clips: {shared_dir() / 'data' / 'video'} not found (set STYLECAST_SHARED)")
        torch.set_num_threads(args.threads)
        torch.set_grad_enabled(False)
        t0 = time.perf_counter()
        run(args, results, variants)
        print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.frames} frames per clip; "
              f"{time.perf_counter() - t0:.0f} s\n")
    print(table(results, names))


if __name__ == "__main__":
    main()
