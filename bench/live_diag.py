"""Where does the flicker left by the live temporal blend come from? (diagnostic, issue #3)

Same clips, networks and E_warp as bench/live_quality.py, but per frame pair and split by the
*live* blender's confidence: E_warp is a mean over the evaluation mask m (DIS medium, full
resolution); we report which share of sum(m * err) falls on pixels the live blender trusted
(c >= 0.5) and which on pixels it handed to the fresh stylization (c < 0.5), plus the fraction
of pixels each Ruder et al. check (disocclusion, motion boundary, out of frame) and the
photometric check reject, and the magnitude of the live DIS flow. Per-frame outputs and
evaluation flows are cached in --cache so many variants can be compared cheaply.

    .venv/bin/python bench/live_diag.py --clips bunny --nets bundled:starry_night
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from live_quality import clips, stylizers  # noqa: E402
from models.flow.consistency import disocclusion, motion_boundary  # noqa: E402
from models.flow.estimators import DISConfig, DISFlow, flow_to_tensor  # noqa: E402
from models.temporal.metrics import pair_warping_errors  # noqa: E402
from models.temporal.blender import TemporalBlender, TemporalConfig, _gray_tensor  # noqa: E402
from models.flow.warp import inside_mask, warp  # noqa: E402


def cached(cache: Path, frames: int, side: int, only: list[str] | None = None) -> dict[str, dict]:
    """{clip: {"x", "fl", "fb", "per": {net: outputs}}}, computed once per clip and stored."""
    out, todo = {}, []
    names = only or ["cockatoo", "bunny", "sintel_mountain_2"]
    for cname in names:
        path = cache / f"diag_{cname}_{frames}_{side}.pt"
        if path.exists():
            out[cname] = torch.load(path)
        else:
            todo.append(cname)
    if not todo:
        return out
    torch.set_grad_enabled(False)
    est = DISFlow(DISConfig(preset="medium", max_side=None))
    nets = stylizers()
    for cname, u8 in clips(frames, side).items():
        if cname not in todo:
            continue
        x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255.0
        t = len(x)
        fl = torch.cat([est(x[i:i + 1], x[i + 1:i + 2]) for i in range(t - 1)])
        fb = torch.cat([est(x[i + 1:i + 2], x[i:i + 1]) for i in range(t - 1)])
        per = {n: torch.cat([net(x[i:i + 1]).float() for i in range(t)]) for n, (net, _) in nets.items()}
        out[cname] = {"x": x, "fl": fl, "fb": fb, "per": per}
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(out[cname], cache / f"diag_{cname}_{frames}_{side}.pt")
    return out


def run(cfg: TemporalConfig, x: torch.Tensor, per: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[dict]]:
    """Blend like the live loop; also return each frame's confidence and the per-check reject rates."""
    b = TemporalBlender(cfg)
    outs, confs, stats = [], [], []
    for i in range(len(x)):
        prev_gray = b._prev_gray
        outs.append(b(x[i:i + 1], per[i:i + 1]))
        confs.append(b.last_confidence.clone())
        if prev_gray is None:
            stats.append({})
            continue
        g = b._prev_gray  # now the current frame's grey
        bwd = flow_to_tensor(b._dis.calc_gray(g, prev_gray))
        fwd = flow_to_tensor(b._dis.calc_gray(prev_gray, g))
        err = (warp(_gray_tensor(prev_gray, "cpu"), bwd) - _gray_tensor(g, "cpu")).abs()
        thr = cfg.photometric_threshold
        stats.append({
            "|flow| px": float(bwd.norm(dim=1).mean()),
            "disocc": float(disocclusion(bwd, fwd).float().mean()),
            "motion_b": float(motion_boundary(bwd).float().mean()),
            "outside": float(1 - inside_mask(bwd).mean()),
            "photo": float((err > thr).float().mean()) if thr is not None else 0.0,
            "c<0.5": float((confs[-1] < 0.5).float().mean()),
        })
    return torch.cat(outs), confs, stats


def split(x: torch.Tensor, out: torch.Tensor, fl: torch.Tensor, fb: torch.Tensor, confs: list[torch.Tensor]) -> np.ndarray:
    """(T-1, 3): E_warp, share of the masked error sum on live-confident / unconfident pixels."""
    from models.flow.consistency import consistency_weights

    m = consistency_weights(fl, fb)
    rows = []
    for i in range(len(x) - 1):
        err = ((out[i:i + 1] - warp(out[i + 1:i + 2], fl[i:i + 1])) ** 2).mean(1, keepdim=True) * m[i:i + 1]
        c = warp(confs[i + 1], fl[i:i + 1])  # live confidence of frame i+1, on frame i's grid
        tot = float(err.sum()) + 1e-20
        rows.append((float(err.sum() / m[i].sum()), float((err * (c >= 0.5)).sum()) / tot, float((err * (c < 0.5)).sum()) / tot))
    return np.array(rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--side", type=int, default=160)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/stylecast_diag"))
    ap.add_argument("--clips", nargs="*", default=None)
    ap.add_argument("--nets", nargs="*", default=None)
    ap.add_argument("--per-pair", action="store_true")
    args = ap.parse_args()
    torch.set_grad_enabled(False)
    data = cached(args.cache, args.frames, args.side, args.clips)
    variants = {
        "default": TemporalConfig(),
        "no restore": TemporalConfig(preserve_contrast=False),
        "no photometric": TemporalConfig(photometric_threshold=None),
    }
    for cname, d in data.items():
        if args.clips and cname not in args.clips:
            continue
        for nname, per in d["per"].items():
            if args.nets and nname not in args.nets:
                continue
            base = pair_warping_errors(d["x"], per, d["fl"], flow_back=d["fb"]).numpy()
            print(f"\n## {cname} / {nname}: per-frame E_warp x1e3 {1e3 * base.mean():.3f}")
            for vname, cfg in variants.items():
                out, confs, stats = run(cfg, d["x"], per)
                s = split(d["x"], out, d["fl"], d["fb"], confs)
                keys = [k for k in stats[1]]
                mean_stats = {k: np.mean([st[k] for st in stats[1:]]) for k in keys}
                print(f"{vname:>16}: ratio {s[:, 0].mean() / base.mean():.2f}  err share conf/unconf "
                      f"{s[:, 1].mean():.2f}/{s[:, 2].mean():.2f}  " + "  ".join(f"{k} {v:.3f}" for k, v in mean_stats.items()))
                if args.per_pair:
                    for i, (e, a, b) in enumerate(s):
                        print(f"    pair {i:2d}: ratio {e / base[i]:.2f} (per {1e3 * base[i]:.3f})  conf {a:.2f} unconf {b:.2f}  "
                              + "  ".join(f"{k} {stats[i + 1][k]:.3f}" for k in keys))


if __name__ == "__main__":
    main()
