"""Procedural style images made by stylecast itself (CC0), for bundled styles beyond the paintings.

Only six public-domain paintings are at hand offline; rather than ship networks trained on images of
unknown origin (candy, mosaic), two more styles are trained on images this module draws from a seed.
They are our own work, dedicated to the public domain (CC0), and bit-reproducible:
``render_style_image("stained_glass", size=512, seed=0)`` always gives the same pixels.

- ``stained_glass``: jittered Voronoi cells in saturated glass colours with a soft radial sheen and
  grain, separated by dark lead lines (thick, slightly irregular strokes).
- ``ink_strokes``: thousands of short curved brush strokes that follow a smooth random angle field
  (sums of sinusoids), on a warm paper ground, in an indigo / vermilion / ochre palette.

Output: numpy ``(H, W, 3)`` uint8 RGB (the I/O boundary convention).
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

GLASS = np.array([[196, 30, 58], [17, 70, 160], [243, 181, 28], [28, 130, 70], [120, 40, 140],
                  [230, 110, 30], [40, 160, 190], [250, 230, 200]], dtype=np.float32)
INK = np.array([[33, 40, 92], [200, 50, 38], [214, 160, 60], [25, 25, 30], [70, 110, 150]], dtype=np.float32)


def _stained_glass(size: int, rng: np.random.Generator) -> np.ndarray:
    h = w = size
    n = max(8, (size // 40) ** 2)
    # Jittered grid points give cells of similar size, as a glazier would cut them.
    g = int(np.sqrt(n))
    ys, xs = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    pts = np.stack([(xs + rng.uniform(0.1, 0.9, xs.shape)) * w / g,
                    (ys + rng.uniform(0.1, 0.9, ys.shape)) * h / g], -1).reshape(-1, 2).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = (xx[..., None] - pts[:, 0]) ** 2 + (yy[..., None] - pts[:, 1]) ** 2
    label = d.argmin(-1)
    colours = GLASS[rng.integers(0, len(GLASS), len(pts))] * rng.uniform(0.8, 1.05, (len(pts), 1))
    img = colours[label]
    # Sheen: each pane is brighter at its centre (light through uneven glass).
    dist = np.sqrt(d.min(-1))
    sheen = 1.15 - 0.45 * np.clip(dist / (w / g), 0, 1)
    img = img * sheen[..., None] + rng.normal(0, 6, img.shape)
    edges = np.zeros((h, w), np.uint8)
    edges[:, 1:] |= (label[:, 1:] != label[:, :-1]).astype(np.uint8)
    edges[1:, :] |= (label[1:, :] != label[:-1, :]).astype(np.uint8)
    lead = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(3, size // 90) | 1,) * 2))
    lead = cv2.GaussianBlur(lead.astype(np.float32), (3, 3), 0)
    img = img * (1 - lead[..., None]) + 25 * lead[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _angle_field(size: int, rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    field = np.zeros((size, size), np.float32)
    for _ in range(5):
        fx, fy = rng.uniform(0.5, 3.0, 2)
        field += rng.uniform(0.5, 1.5) * np.sin(2 * np.pi * (fx * xx + fy * yy) + rng.uniform(0, 2 * np.pi))
    return field * np.pi / 2


def _ink_strokes(size: int, rng: np.random.Generator) -> np.ndarray:
    img = np.full((size, size, 3), (238, 226, 200), np.float32) + rng.normal(0, 5, (size, size, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    angle = _angle_field(size, rng)
    length, width = size / 14, max(2, size // 110)
    for _ in range(int(2.2 * (size / 20) ** 2)):
        x, y = rng.uniform(0, size, 2)
        colour = INK[rng.choice(len(INK), p=[0.34, 0.2, 0.2, 0.13, 0.13])] * rng.uniform(0.85, 1.1)
        pts = [(x, y)]
        for _ in range(6):  # follow the field: strokes bend like a loaded brush dragged along
            a = angle[int(y) % size, int(x) % size]
            x, y = x + np.cos(a) * length / 6, y + np.sin(a) * length / 6
            pts.append((x, y))
        poly = np.round(np.array(pts) * 4).astype(np.int32)[None]  # shift=2: quarter-pixel precision
        cv2.polylines(img, poly, False, tuple(float(c) for c in np.clip(colour, 0, 255)),
                      int(width * rng.uniform(0.7, 1.6)), cv2.LINE_AA, shift=2)
    return img


RENDERERS: dict[str, Callable[[int, np.random.Generator], np.ndarray]] = {
    "stained_glass": _stained_glass, "ink_strokes": _ink_strokes}
DESCRIPTIONS = {
    "stained_glass": "Stained glass: saturated Voronoi panes with dark lead lines (procedural, stylecast, CC0)",
    "ink_strokes": "Ink strokes: curved indigo, vermilion and ochre brush strokes on warm paper (procedural, stylecast, CC0)",
}


def render_style_image(name: str, *, size: int = 512, seed: int = 0) -> np.ndarray:
    """Draw the procedural style image ``name`` as ``(size, size, 3)`` uint8 RGB."""
    if name not in RENDERERS:
        raise ValueError(f"unknown procedural style {name!r}; expected one of {sorted(RENDERERS)}")
    if size < 64:
        raise ValueError(f"render_style_image: size must be >= 64, got {size}")
    return RENDERERS[name](size, np.random.default_rng(seed))


if __name__ == "__main__":  # python -m models.styles.procedural OUTDIR: write the PNGs the bundled styles were trained on
    import sys
    from pathlib import Path

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    out.mkdir(parents=True, exist_ok=True)
    for key in RENDERERS:
        cv2.imwrite(str(out / f"{key}.png"), render_style_image(key, size=512, seed=0)[..., ::-1])
        print(out / f"{key}.png")
