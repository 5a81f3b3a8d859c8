"""Procedural style images: deterministic, the stated look (measured), clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from models.styles.procedural import RENDERERS, render_style_image


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_same_seed_same_pixels_other_seed_differs(name: str) -> None:
    a = render_style_image(name, size=128, seed=3)
    assert a.shape == (128, 128, 3) and a.dtype == np.uint8
    assert np.array_equal(a, render_style_image(name, size=128, seed=3))
    assert np.abs(a.astype(int) - render_style_image(name, size=128, seed=4)).mean() > 20


def test_stained_glass_has_lead_lines_and_saturated_panes() -> None:
    im = render_style_image("stained_glass", size=256, seed=0).astype(np.float32)
    dark = im.max(-1) < 60  # lead
    assert 0.05 < dark.mean() < 0.3
    panes = im[~dark]
    saturation = (panes.max(-1) - panes.min(-1)) / np.maximum(panes.max(-1), 1)
    assert np.median(saturation) > 0.5


def test_ink_strokes_leave_paper_and_use_the_palette() -> None:
    im = render_style_image("ink_strokes", size=256, seed=0).astype(np.float32)
    paper = (np.abs(im - np.array([238, 226, 200])).max(-1) < 25).mean()
    assert 0.2 < paper < 0.8  # strokes cover part of the sheet, not all of it
    blue_ink = ((im[..., 2] > im[..., 0] + 30) & (im.max(-1) < 170)).mean()
    assert blue_ink > 0.05


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown procedural style 'mosaic'"):
        render_style_image("mosaic")
    with pytest.raises(ValueError, match="size must be >= 64"):
        render_style_image("stained_glass", size=8)
