"""Does the live temporal blend cut flicker without washing out the style?

For each clip (../shared/data/video, downscaled, a few dozen frames) and each real pretrained
style network (../shared/weights/fast_style via ../shared/tools/reference_nets.py; plus the
bundled default style when models/styles has one), every frame is stylized once, then
TemporalBlender variants are run over those per-frame outputs exactly as the live loop does.

Figures per variant:
- E_warp (Lai et al. 2018, models.temporal.metrics) with flows estimated on the ORIGINAL clip by DIS
  "medium" at full clip resolution (an estimator different in preset from the live one);
  ratio = E_warp(variant) / E_warp(per-frame). Acceptance: <= 0.5.
- Gram style loss, ImageNet VGG19 relu1_1..relu5_1 (Gatys et al. 2016):
  * style-image loss: mean over frames of sum_l mean((G_l(out_t) - G_l(style image))^2), for the
    networks whose style image is in ../shared/data/styles; rise vs per-frame. Acceptance: <= +10 %.
  * frame-by-frame deviation from the network's own per-frame output:
    sum_l ||G_l(out_t) - G_l(perframe_t)||^2 / sum_l ||G_l(perframe_t)||^2, mean over frames.
VGG figures use every ``--vgg-every``-th frame to keep the CPU cost down.

    .venv/bin/python bench/live_quality.py [--frames 24] [--side 320] [--strip docs/live_strip.png]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(SHARED / "tools"))

from models.flow.estimators import DISConfig, DISFlow  # noqa: E402
from models.losses.functional import gram  # noqa: E402
from models.temporal.metrics import pair_warping_errors  # noqa: E402
from models.temporal.blender import TemporalBlender, TemporalConfig  # noqa: E402

NETS = {"wave": "wave.jpg", "scream": "the_scream.jpg", "udnie": "udnie.jpg"}
VGG_TAPS = {1: "relu1_1", 6: "relu2_1", 11: "relu3_1", 20: "relu4_1", 29: "relu5_1"}
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
BEFORE = dict(detail_target="fresh", history_resampling="bilinear")  # the blend before issue #3
VARIANTS: dict[str, TemporalConfig | None] = {
    "per-frame": None,
    "s=0.85 before #3 (restore to fresh, bilinear)": TemporalConfig(strength=0.85, **BEFORE),
    "s=0.85 plain blend (no detail restore)": TemporalConfig(strength=0.85, preserve_contrast=False, history_resampling="bilinear"),
    "s=0.85 restore lost only (bilinear)": TemporalConfig(strength=0.85, history_resampling="bilinear"),
    "s=0.85 bicubic history + restore lost": TemporalConfig(strength=0.85),
    "s=0.92 (default: bicubic history + restore lost)": TemporalConfig(flow="dis"),
    "s=0.92 default, torch flow (the CUDA default)": TemporalConfig(flow="torch"),
}
DEFAULT_VARIANT = "s=0.92 (default: bicubic history + restore lost)"
TORCH_VARIANT = "s=0.92 default, torch flow (the CUDA default)"


def _fit(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    return cv2.resize(img, (int(round(w * s / 2)) * 2, int(round(h * s / 2)) * 2), interpolation=cv2.INTER_AREA)


def clips(n: int, side: int, names: tuple[str, ...] = ("cockatoo", "bunny", "sintel_mountain_2")) -> dict[str, np.ndarray]:
    out = {}
    for name, path, skip in (("cockatoo", "cockatoo_720p.mp4", 0), ("bunny", "big_buck_bunny_480p_30s.mp4", 240)):
        if name not in names:
            continue
        import av

        frames = []
        with av.open(str(SHARED / "data" / "video" / path)) as c:
            for i, fr in enumerate(c.decode(video=0)):
                if i >= skip:  # the bunny clip opens with a fade from black
                    frames.append(_fit(fr.to_ndarray(format="rgb24"), side))
                if len(frames) == n:
                    break
        out[name] = np.stack(frames)
    if "sintel_mountain_2" not in names:
        return out
    sintel = sorted((SHARED / "data" / "video" / "sintel_mountain_2").glob("frame_*.png"))[:n]
    out["sintel_mountain_2"] = np.stack([_fit(cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB), side) for p in sintel])
    return out


def stylizers(bundled: tuple[str, ...] = ()) -> dict[str, tuple[torch.nn.Module, Path | None]]:
    import reference_nets as rn

    nets: dict[str, tuple[torch.nn.Module, Path | None]] = {
        k: (rn.load_style_net(str(SHARED / "weights" / "fast_style" / f"{k}.safetensors")), SHARED / "data" / "styles" / v)
        for k, v in NETS.items()
    }
    try:
        from models.styles.registry import DEFAULT_STYLE, list_styles, load_stylizer

        have = {e.name for e in list_styles() if e.source == "bundled"}
        for name in dict.fromkeys((DEFAULT_STYLE, *bundled)):
            if name in have:
                img = SHARED / "data" / "styles" / f"{name}.jpg"
                nets[f"bundled:{name}"] = (load_stylizer(name), img if img.exists() else None)
    except Exception as exc:  # noqa: BLE001 - the bundled style may not have landed yet
        print(f"(bundled style unavailable: {exc})")
    return nets


def vgg_grams(vgg: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    h = (x - MEAN) / STD
    out = []
    for i, layer in enumerate(vgg):
        h = layer(h)
        if i in VGG_TAPS:
            out.append(gram(h))
        if i == max(VGG_TAPS):
            break
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--side", type=int, default=320)
    ap.add_argument("--vgg-every", type=int, default=4)
    ap.add_argument("--bundled", nargs="*", default=[], help="bundled styles to add to the default one")
    ap.add_argument("--strip", default=None, help="write the side-by-side strip PNG here")
    ap.add_argument("--strip-net", default="wave", help="network of the strip (cockatoo clip, default variant)")
    ap.add_argument("--nets", nargs="*", default=None,
                    help="only these networks (keys as printed: wave, scream, udnie, bundled:NAME)")
    ap.add_argument("--clips", nargs="+", default=["cockatoo", "bunny", "sintel_mountain_2"])
    ap.add_argument("--default-only", action="store_true", help="only per-frame and the default variant (DIS and torch flow)")
    args = ap.parse_args()
    variants = {k: v for k, v in VARIANTS.items() if not args.default_only or k in ("per-frame", DEFAULT_VARIANT, TORCH_VARIANT)}
    import reference_nets as rn

    torch.set_grad_enabled(False)
    t_start = time.perf_counter()
    vgg = rn.load_vgg19_features(str(SHARED / "weights" / "vgg19_imagenet_features.fp16.safetensors"))
    data, nets = clips(args.frames, args.side, tuple(args.clips)), stylizers(tuple(args.bundled))
    if args.nets is not None:
        missing = sorted(set(args.nets) - set(nets))
        if missing:
            raise SystemExit(f"--nets: unknown {missing}; available: {sorted(nets)} (bundled ones need --bundled NAME)")
        nets = {k: v for k, v in nets.items() if k in args.nets}
    est = DISFlow(DISConfig(preset="medium", max_side=None))
    rows, totals = [], {k: [] for k in variants}
    strip_src = None
    style_grams: dict[str, list[torch.Tensor]] = {}
    for cname, u8 in data.items():
        x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0
        t = len(x)
        fl = torch.cat([est(x[i:i + 1], x[i + 1:i + 2]) for i in range(t - 1)])
        fb = torch.cat([est(x[i + 1:i + 2], x[i:i + 1]) for i in range(t - 1)])
        sub = list(range(0, t, args.vgg_every))
        for nname, (net, style_path) in nets.items():
            per = torch.cat([net(x[i:i + 1]).float() for i in range(t)])
            g_per = {i: vgg_grams(vgg, per[i:i + 1]) for i in sub}
            g_style = None
            if style_path is not None:
                if nname not in style_grams:  # once per network, at the clip's scale
                    s = cv2.cvtColor(cv2.imread(str(style_path)), cv2.COLOR_BGR2RGB)
                    style_grams[nname] = vgg_grams(vgg, torch.from_numpy(_fit(s, args.side)).permute(2, 0, 1)[None].float() / 255.0)
                g_style = style_grams[nname]
            base_e = base_s = None
            for vname, cfg in variants.items():
                if cfg is None:
                    out = per
                else:
                    b = TemporalBlender(cfg)
                    out = torch.cat([b(x[i:i + 1], per[i:i + 1]) for i in range(t)])
                e = float(pair_warping_errors(x, out, fl, flow_back=fb).mean())
                dev, sl = [], []
                for i in sub:
                    g = g_per[i] if cfg is None else vgg_grams(vgg, out[i:i + 1])
                    dev.append(sum(float(((a - p) ** 2).sum()) for a, p in zip(g, g_per[i]))
                               / sum(float((p ** 2).sum()) for p in g_per[i]))
                    if g_style is not None:
                        sl.append(sum(float(((a - s) ** 2).mean()) for a, s in zip(g, g_style)))
                style = float(np.mean(sl)) if sl else float("nan")
                if cfg is None:
                    base_e, base_s = e, style
                rows.append((cname, nname, vname, e, e / base_e, style, style / base_s - 1.0, float(np.mean(dev))))
                print("  ", rows[-1], file=sys.stderr, flush=True)
                totals[vname].append((e / base_e, style / base_s - 1.0, float(np.mean(dev))))
                if cname == "cockatoo" and nname == args.strip_net and vname == DEFAULT_VARIANT:
                    strip_src = (u8, per, out)
            print(f"  done {cname} / {nname} ({time.perf_counter() - t_start:.0f} s)", file=sys.stderr)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {args.frames} frames per clip, "
          f"longer side {args.side} px; VGG on every {args.vgg_every}th frame; total {time.perf_counter() - t_start:.0f} s\n")
    print("| clip | style net | variant | E_warp x1e3 | ratio vs per-frame | style loss (vs style image) "
          "| style loss rise | Gram dev. vs per-frame |")
    print("|---|---|---|---|---|---|---|---|")
    for c, n, v, e, r, s, sr, d in rows:
        sr_txt = "n/a" if np.isnan(sr) else f"{100 * sr:+.1f} %"
        s_txt = "n/a" if np.isnan(s) else f"{s:.4g}"
        print(f"| {c} | {n} | {v} | {1e3 * e:.3f} | {r:.2f} | {s_txt} | {sr_txt} | {100 * d:.2f} % |")
    print("\n**Summary over all clips x nets** (worst case in brackets)\n")
    print("| variant | E_warp ratio mean [max] | style loss rise mean [max] | Gram dev. mean [max] |")
    print("|---|---|---|---|")
    for v, vals in totals.items():
        a = np.array(vals, dtype=np.float64)
        sr = a[:, 1][~np.isnan(a[:, 1])]
        print(f"| {v} | {a[:, 0].mean():.2f} [{a[:, 0].max():.2f}] | {100 * sr.mean():+.1f} % [{100 * sr.max():+.1f} %] | "
              f"{100 * a[:, 2].mean():.2f} % [{100 * a[:, 2].max():.2f} %] |")
    if args.strip and strip_src is not None:
        write_strip(Path(args.strip), *strip_src)


def write_strip(path: Path, u8: np.ndarray, per: torch.Tensor, out: torch.Tensor, cols: int = 4) -> None:
    """Rows: input, per-frame stylization, temporally blended; columns: consecutive frames; plus
    a row of |frame t - frame t-1| of both outputs (flicker shows up bright)."""
    def u(t: torch.Tensor) -> np.ndarray:
        return (t.clamp(0, 1).permute(0, 2, 3, 1).numpy() * 255 + 0.5).astype(np.uint8)

    idx = list(range(len(u8) - cols, len(u8)))
    p, o = u(per), u(out)
    rows = [np.concatenate([u8[i] for i in idx], 1), np.concatenate([p[i] for i in idx], 1),
            np.concatenate([o[i] for i in idx], 1)]
    diff = [np.clip(3 * np.abs(p[i].astype(int) - p[i - 1].astype(int)), 0, 255).astype(np.uint8) for i in idx[:cols // 2]]
    diff += [np.clip(3 * np.abs(o[i].astype(int) - o[i - 1].astype(int)), 0, 255).astype(np.uint8) for i in idx[:cols // 2]]
    rows.append(np.concatenate(diff, 1))
    img = np.concatenate(rows, 0)
    labels = ["input", "per-frame", f"temporal s={TemporalConfig().strength}", "|t - (t-1)| x3: per-frame | temporal"]
    rh = img.shape[0] // 4
    for k, txt in enumerate(labels):
        cv2.putText(img, txt, (4, k * rh + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"\nstrip: {path} ({img.shape[1]}x{img.shape[0]})")


if __name__ == "__main__":
    main()
