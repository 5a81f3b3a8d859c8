"""Our bundled styles versus Engstrom's pretrained networks for the same paintings (issue #8).

For each pair: on held-out photos (none of the networks trained on them), VGG19 Gram style loss of
the stylized photo to the painting (relu1_1..relu5_1, Gram / (C*H*W), the painting at
``--style-size`` long side) and VGG19 relu4_2 content loss to the photo. Both networks are scored
in the same run on the same inputs; the table prints ours / Engstrom's (<= 1.5 is the target).
Needs ../shared (VGG19 trunk, Engstrom's networks, paintings, photos); never downloads.

    .venv/bin/python bench/style_reference.py --size 256 [--ours wave=PATH_OR_NAME ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
# Our style name -> (Engstrom's file, painting). "scream" is Engstrom's name for The Scream.
PAIRS = {"wave": ("wave", "wave"), "the_scream": ("scream", "the_scream"), "udnie": ("udnie", "udnie")}
PHOTOS = ("golden_gate.jpg", "chelsea.png", "coffee.png")
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def _load(path: Path, size: int, *, long_side: bool = False) -> torch.Tensor:
    from models.io import read_image, to_tensor
    x = to_tensor([read_image(path)], device="cpu", dtype=torch.float32)
    h, w = x.shape[-2:]
    s = size / (max(h, w) if long_side else min(h, w))
    return F.interpolate(x, size=(round(h * s), round(w * s)), mode="bilinear", antialias=True)


def _ours(spec: str) -> torch.nn.Module:
    """A registry name, a .safetensors file, or a training state.pt (exported to a temp file)."""
    from models.styles.registry import load_stylizer

    if spec.endswith(".pt"):
        import tempfile

        from models.training.loop import export_state
        spec = str(export_state(spec, Path(tempfile.mkdtemp()) / "state.safetensors", half=False))
    return load_stylizer(spec).float().eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="short side of the photos")
    ap.add_argument("--style-size", type=int, default=256, help="long side of the painting")
    ap.add_argument("--ours", action="append", default=[], help="STYLE=NAME_OR_PATH (default: bundled NAME)")
    ap.add_argument("--only", action="append", default=[], help="restrict to these styles")
    ap.add_argument("--figure", help="also write a side-by-side PNG: painting | photo | ours | Engstrom per row")
    ap.add_argument("--figure-photo", default="golden_gate.jpg")
    a = ap.parse_args()
    sys.path.insert(0, str(SHARED / "tools"))
    import reference_nets  # type: ignore[import-not-found]

    from models.losses.functional import content_loss, gram, style_loss
    from models.losses.networks import build_loss_network

    torch.set_grad_enabled(False)
    net = build_loss_network("vgg19", weights=str(SHARED / "weights/vgg19_imagenet_features.fp16.safetensors"),
                             taps=[*STYLE_LAYERS, "relu4_2"]).float()
    ours = dict(spec.split("=", 1) for spec in a.ours)
    photos = {p: _load(SHARED / "data/content" / p, a.size) for p in PHOTOS}
    rows = []
    print(f"photos {list(PHOTOS)} at {a.size} px short side; paintings at {a.style_size} px long side; VGG19")
    print(f"{'style':11s} {'photo':16s} {'style ours':>10s} {'Engstrom':>9s} {'ratio':>6s}"
          f" {'content ours':>12s} {'Engstrom':>9s} {'ratio':>6s}")
    for name, (ref_file, painting) in PAIRS.items():
        if a.only and name not in a.only:
            continue
        target = net(_load(SHARED / "data/styles" / f"{painting}.jpg", a.style_size, long_side=True))
        grams = {k: gram(target[k]) for k in STYLE_LAYERS}
        mine = _ours(ours.get(name, name))
        ref = reference_nets.load_style_net(str(SHARED / "weights/fast_style" / f"{ref_file}.safetensors")).eval()
        sums = [0.0, 0.0, 0.0, 0.0]
        for pname, x in photos.items():
            fx = net(x)
            row = []
            for model in (mine, ref):
                fy = net(model(x).clamp(0, 1))
                row.append((float(style_loss({k: fy[k] for k in STYLE_LAYERS}, grams)),
                            float(content_loss(fy["relu4_2"], fx["relu4_2"]))))
            (s0, c0), (s1, c1) = row
            if pname == a.figure_photo:
                pimg = _load(SHARED / "data/styles" / f"{painting}.jpg", a.size)
                rows.append([pimg, x, mine(x).clamp(0, 1), ref(x).clamp(0, 1)])
            for i, v in enumerate((s0, s1, c0, c1)):
                sums[i] += v
            print(f"{name:11s} {pname:16s} {s0:10.3g} {s1:9.3g} {s0 / s1:5.2f}x {c0:12.3g} {c1:9.3g} {c0 / c1:5.2f}x")
        s0, s1, c0, c1 = sums
        print(f"{name:11s} {'MEAN':16s} {s0 / 3:10.3g} {s1 / 3:9.3g} {s0 / s1:5.2f}x {c0 / 3:12.3g} {c1 / 3:9.3g} {c0 / c1:5.2f}x")

    if a.figure and rows:
        _figure(rows, a.figure, a.size)


def _figure(rows: list[list[torch.Tensor]], path: str, h: int) -> None:
    import numpy as np

    from models.io import to_uint8, write_image

    def fit(t: torch.Tensor) -> np.ndarray:
        t = F.interpolate(t, size=(h, round(t.shape[-1] * h / t.shape[-2])), mode="bilinear", antialias=True)
        return to_uint8(t.clamp(0, 1))[0]

    lines = [np.concatenate([fit(t) for t in r], axis=1) for r in rows]
    width = max(line.shape[1] for line in lines)
    lines = [np.pad(line, ((0, 4), (0, width - line.shape[1]), (0, 0)), constant_values=255) for line in lines]
    print("wrote", write_image(path, np.concatenate(lines, axis=0)))


if __name__ == "__main__":
    main()
