"""Make docs/gallery.png: one row per style, "style image | content | result".

    .venv/bin/python bench/train_gallery.py --content ../shared/data/content/golden_gate.jpg \
        --style starry_night=../shared/data/styles/starry_night.jpg --style wave=../shared/data/styles/wave.jpg \
        -o docs/gallery.png --height 200

A style given as NAME uses the registry; a path to a .safetensors or training state.pt also works.
The content image must not be one the styles were trained on.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch


def _fit(im: np.ndarray, h: int) -> np.ndarray:
    return cv2.resize(im, (max(1, round(im.shape[1] * h / im.shape[0])), h), interpolation=cv2.INTER_AREA)


def _stylizer(spec: str):
    from models.registry import load_stylizer

    if spec.endswith(".pt"):
        import tempfile

        from models.train import export_state

        tmp = Path(tempfile.mkdtemp()) / "preview.safetensors"
        spec = str(export_state(spec, tmp, half=False))
    return load_stylizer(spec)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--content", required=True)
    ap.add_argument("--style", action="append", required=True, help="NAME_OR_PATH=STYLE_IMAGE")
    ap.add_argument("-o", "--output", default="docs/gallery.png")
    ap.add_argument("--height", type=int, default=200)
    ap.add_argument("--work-height", type=int, default=480, help="stylize at this height, then shrink")
    a = ap.parse_args()
    from models.media import read_image, to_tensor, to_uint8, write_image

    content = read_image(a.content)
    work = _fit(content, a.work_height)
    rows = []
    for spec in a.style:
        net_spec, _, style_img = spec.partition("=")
        net = _stylizer(net_spec)
        with torch.no_grad():
            out = to_uint8(net(to_tensor([work], device="cpu", dtype=torch.float32)))[0]
        style = _fit(read_image(style_img), a.height) if style_img else None
        parts = [p for p in (style, _fit(content, a.height), _fit(out, a.height)) if p is not None]
        rows.append(np.concatenate(parts, axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    path = write_image(a.output, np.concatenate(rows, axis=0))
    print(f"wrote {path} ({Path(path).stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
