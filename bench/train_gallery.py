"""Make docs/gallery.png: a header row of content images, then one row per style: "style | results".

    .venv/bin/python bench/train_gallery.py --content ../shared/data/content/golden_gate.jpg --content ../shared/data/content/chelsea.png \
        --style starry_night=../shared/data/styles/starry_night.jpg --style wave=../shared/data/styles/wave.jpg \
        -o docs/gallery.png --height 150  # README: saved as docs/gallery.jpg

A style given as NAME uses the registry; a path to a .safetensors or training state.pt also works.
The content images must not be ones the styles were trained on.
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
    from models.styles.registry import load_stylizer

    if spec.endswith(".pt"):
        import tempfile

        from models.training.loop import export_state

        tmp = Path(tempfile.mkdtemp()) / "preview.safetensors"
        spec = str(export_state(spec, tmp, half=False))
    return load_stylizer(spec)


def _label(im: np.ndarray, text: str) -> np.ndarray:
    out = im.copy()
    h = max(14, im.shape[0] // 12)
    cv2.rectangle(out, (0, 0), (min(out.shape[1], 9 * len(text) * h // 16 + 8), h + 6), (255, 255, 255), -1)
    cv2.putText(out, text, (4, h), cv2.FONT_HERSHEY_SIMPLEX, h / 30, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def _square(im: np.ndarray, h: int) -> np.ndarray:
    s = min(im.shape[:2])
    y, x = (im.shape[0] - s) // 2, (im.shape[1] - s) // 2
    return cv2.resize(im[y:y + s, x:x + s], (h, h), interpolation=cv2.INTER_AREA)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--content", action="append", required=True, help="repeat for more columns")
    ap.add_argument("--style", action="append", required=True, help="NAME_OR_PATH=STYLE_IMAGE")
    ap.add_argument("-o", "--output", default="docs/gallery.png")
    ap.add_argument("--height", type=int, default=200)
    ap.add_argument("--work-height", type=int, default=480, help="stylize at this height, then shrink")
    a = ap.parse_args()
    from models.io import read_image, to_tensor, to_uint8, write_image

    contents = [read_image(c) for c in a.content]
    works = [_fit(c, a.work_height) for c in contents]
    blank = np.full((a.height, a.height, 3), 255, np.uint8)
    rows = [np.concatenate([_label(blank, "style"), *(_fit(c, a.height) for c in contents)], axis=1)]
    for spec in a.style:
        net_spec, _, style_img = spec.partition("=")
        net = _stylizer(net_spec)
        outs = []
        for work in works:
            with torch.no_grad():
                outs.append(_fit(to_uint8(net(to_tensor([work], device="cpu", dtype=torch.float32)))[0], a.height))
        style = _square(read_image(style_img), a.height) if style_img else blank
        name = Path(net_spec).stem if net_spec.endswith((".safetensors", ".pt")) else net_spec
        rows.append(np.concatenate([_label(style, name), *outs], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    path = write_image(a.output, np.concatenate(rows, axis=0))
    print(f"wrote {path} ({Path(path).stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
