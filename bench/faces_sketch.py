"""Leave-one-out sketch benchmark for `offline.faces` (figures for docs/bench/faces.md).

For each of the 6 CUHK photo/sketch pairs in ../shared/data/faces/exemplars_sketch, stylize the
photo with the other 5 pairs as exemplars and compare with the artist's real sketch:
  multi (Shih energy transfer, default), multi (patch synthesis), each single exemplar alone
  (same pipeline, K=1, averaged), Gatys et al. 2016 optimisation with one exemplar sketch as the
  style image (the exemplar the MRF chose most often, i.e. the most favourable single style), and
  the grey photo itself as a floor.
Metrics: SSIM on grey (higher is better) and a VGG19 perceptual distance (channel-normalised
feature MSE at relu1_1..relu5_1, like LPIPS without learned weights; lower is better).
Usage: .venv/bin/python bench/faces_sketch.py [--gatys-iters 30] [--figure docs/faces_figure.png]
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared"

from models.losses.networks import build_loss_network  # noqa: E402
from models.losses.functional import content_loss, gram, style_loss  # noqa: E402
from offline.faces import FaceStyleConfig, FaceStylizer, load_exemplars  # noqa: E402
from offline.faces.landmarks import default_detector  # noqa: E402
from offline.faces.quality import ssim  # noqa: E402

VGG = SHARED / "weights" / "vgg19_imagenet_features.fp16.safetensors"
TAPS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def to_t(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img, np.float32)).permute(2, 0, 1)[None]


def grey3(img: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(img.astype(np.float32), cv2.COLOR_RGB2GRAY)
    return np.repeat(g[..., None], 3, -1)


@torch.no_grad()
def perceptual(net: torch.nn.Module, a: np.ndarray, b: np.ndarray) -> float:
    fa, fb = net(to_t(grey3(a))), net(to_t(grey3(b)))
    d = 0.0
    for t in TAPS:
        na = fa[t] / (fa[t].norm(dim=1, keepdim=True) + 1e-8)
        nb = fb[t] / (fb[t].norm(dim=1, keepdim=True) + 1e-8)
        d += float(((na - nb) ** 2).sum(1).mean())
    return d / len(TAPS)


def gatys(net: torch.nn.Module, content: np.ndarray, style: np.ndarray, *, iters: int, scale: float) -> np.ndarray:
    """Gatys, Ecker & Bethge 2016: L-BFGS from the content image, at ``scale`` of the size."""
    h, w = content.shape[:2]
    sz = (int(w * scale), int(h * scale))
    c = to_t(cv2.resize(content, sz, interpolation=cv2.INTER_AREA))
    s = to_t(cv2.resize(style, sz, interpolation=cv2.INTER_AREA))
    with torch.no_grad():
        fc = net(c)["relu4_1"]
        gs = {t: gram(v) for t, v in net(s).items() if t in TAPS[:4]}
    x = c.contiguous().clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], max_iter=iters, lr=1.0)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        f = net(x)
        loss = content_loss(f["relu4_1"], fc) + 1e5 * style_loss(f, gs)
        loss.backward()
        return loss

    opt.step(closure)
    out = x.detach().clamp(0, 1)[0].permute(1, 2, 0).numpy()
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gatys-iters", type=int, default=30)
    ap.add_argument("--gatys-scale", type=float, default=0.5)
    ap.add_argument("--figure", default=str(ROOT / "docs" / "faces_figure.png"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    data = SHARED / "data" / "faces" / "exemplars_sketch"
    ex = load_exemplars(data, default_detector())
    net = build_loss_network("vgg19", weights=str(VGG), taps=TAPS)
    gnet = build_loss_network("vgg19", weights=str(VGG), taps=TAPS[:4])
    rows: dict[str, list[tuple[float, float]]] = {}
    times: dict[str, float] = {}
    fig_row = None

    def score(name: str, img: np.ndarray, truth: np.ndarray) -> None:
        g, t = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY)
        rows.setdefault(name, []).append((ssim(g, t), perceptual(net, img, truth)))

    for item in ex.items:
        others = ex.without(item.name)
        truth, photo, lm = item.styled, item.photo, item.landmarks
        assert photo is not None
        t0 = time.perf_counter()
        multi = FaceStylizer(others).stylize_aligned(photo, lm)
        times["multi"] = times.get("multi", 0.0) + time.perf_counter() - t0
        score("multi-exemplar, Shih energy transfer (default)", multi.image, truth)
        patch = FaceStylizer(others, config=FaceStyleConfig(transfer="patch")).stylize_aligned(photo, lm)
        score("multi-exemplar, patch synthesis", patch.image, truth)
        singles = [FaceStylizer(others.only([o.name])).stylize_aligned(photo, lm).image for o in others.items]
        ss = [(ssim(cv2.cvtColor(s, cv2.COLOR_RGB2GRAY), cv2.cvtColor(truth, cv2.COLOR_RGB2GRAY)),
               perceptual(net, s, truth)) for s in singles]
        rows.setdefault("single exemplar (mean of 5)", []).append(tuple(np.mean(ss, 0)))
        rows.setdefault("single exemplar (best of 5, oracle)", []).append(
            (max(s[0] for s in ss), min(s[1] for s in ss)))
        favourite = others.items[int(np.bincount(multi.labels.ravel(), minlength=len(others.items)).argmax())]
        t0 = time.perf_counter()
        g = gatys(gnet, photo, favourite.styled, iters=args.gatys_iters, scale=args.gatys_scale)
        times["gatys"] = times.get("gatys", 0.0) + time.perf_counter() - t0
        score("Gatys et al. 2016, most-chosen exemplar as style", g, truth)
        score("grey photo (no stylization)", grey3(photo), truth)
        if fig_row is None:
            fig_row = (photo, [o.styled for o in others.items], multi.image, g, truth)
        print(f"{item.name}: ssim multi {rows['multi-exemplar, Shih energy transfer (default)'][-1][0]:.3f} "
              f"single {rows['single exemplar (mean of 5)'][-1][0]:.3f} gatys {rows['Gatys et al. 2016, most-chosen exemplar as style'][-1][0]:.3f}",
              flush=True)
        report(rows, times, args, done=len(rows["grey photo (no stylization)"]))
        if fig_row and args.figure and item is ex.items[0]:
            save_figure(Path(args.figure), *fig_row)



def report(rows: dict[str, list[tuple[float, float]]], times: dict[str, float], args: argparse.Namespace,
           *, done: int) -> None:
    """Print the table so far (the run is long on a shared CPU; partial tables are still useful)."""
    print(f"\nafter {done}/6 pairs; machine: {platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; multi-exemplar {times['multi'] / done:.2f} s/face, "
          f"Gatys ({args.gatys_iters} L-BFGS iters at {args.gatys_scale}x) {times['gatys'] / done:.1f} s/face")
    print("\n| method | SSIM ↑ (mean ± sd) | VGG19 perceptual distance ↓ (mean ± sd) |")
    print("| --- | --- | --- |")
    for name, vals in rows.items():
        v = np.array(vals)
        print(f"| {name} | {v[:, 0].mean():.3f} ± {v[:, 0].std():.3f} | {v[:, 1].mean():.3f} ± {v[:, 1].std():.3f} |",
              flush=True)


def save_figure(path: Path, photo: np.ndarray, exemplars: list[np.ndarray], result: np.ndarray,
                gatys_img: np.ndarray, truth: np.ndarray) -> None:
    """input | 5 exemplars (small, 2 rows) | result | Gatys | truth, at 0.6x to stay small."""
    h, w = photo.shape[:2]
    thumbs = [cv2.resize(e, (w // 2, h // 2), interpolation=cv2.INTER_AREA) for e in exemplars]
    thumbs += [np.ones_like(thumbs[0])] * (6 - len(thumbs))
    grid = np.vstack([np.hstack(thumbs[0:3]), np.hstack(thumbs[3:6])])
    grid = cv2.resize(grid, (int(grid.shape[1] * h / grid.shape[0]), h), interpolation=cv2.INTER_AREA)
    sep = np.ones((h, 4, 3), np.float32)
    panel = np.hstack([photo, sep, grid, sep, result, sep, gatys_img, sep, truth])
    panel = cv2.resize(panel, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    u8 = (np.clip(panel, 0, 1) * 255 + 0.5).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    print(f"figure: {path} (input | exemplars | multi-exemplar | Gatys | real sketch)")


if __name__ == "__main__":
    main()
