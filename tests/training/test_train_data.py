"""Training crops: flat (uniform) content is never fed to the network, and why it must not be."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.errors import UserError
from models.training.data import FLAT_STD, CropSampler, is_flat, load_content
from models.nets.transformer import TransformerNet, preset


def _write_png(path: Path, rgb: np.ndarray) -> Path:
    import cv2

    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def _textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_is_flat_known_values() -> None:
    assert is_flat(torch.zeros(3, 16, 16))
    assert is_flat(torch.full((3, 16, 16), 0.7))
    one_level = torch.zeros(3, 16, 16)
    one_level[:, ::2] = 1 / 255  # std ~0.5/255: below the threshold
    assert is_flat(one_level)
    stripes = torch.zeros(3, 16, 16)
    stripes[0, ::2] = 8 / 255  # one channel with std 4/255 > FLAT_STD
    assert not is_flat(stripes) and FLAT_STD < 4 / 255


def test_load_content_drops_flat_frames_and_rejects_all_flat(tmp_path: Path) -> None:
    black = _write_png(tmp_path / "black.png", np.zeros((64, 80, 3), np.uint8))
    grey = _write_png(tmp_path / "grey.png", np.full((64, 80, 3), 128, np.uint8))
    photo = _write_png(tmp_path / "photo.png", _textured(64, 80))
    kept = load_content([black, photo, grey], size=32)
    assert len(kept) == 1 and kept[0].std() > 50
    with pytest.raises(UserError, match="flat colour"):
        load_content([black, grey], size=32)


def test_sampler_redraws_flat_crops(tmp_path: Path) -> None:
    # Left 3/4 black (a letterboxed frame): most crops of the black part would be flat.
    im = np.zeros((96, 384, 3), np.uint8)
    im[:, 288:] = _textured(96, 96)
    sampler = CropSampler([im], size=24, seed=0)
    crops = sampler.batch(64)
    assert not any(is_flat(c) for c in crops)
    # The same draws without the check would have been mostly flat (this is what it guards).
    raw = CropSampler([im], size=24, seed=0)
    assert sum(is_flat(raw._draw()) for _ in range(64)) > 16


def test_flat_input_explodes_the_gradient_of_the_transformer() -> None:
    """The reason for the check: every instance norm of a flat input sees zero variance and scales
    the backward pass by up to 1/sqrt(eps) ~ 316; the 15 of the standard preset reach ~1e22 at
    initialisation here (and overflowed float32 to inf after 76 steps of a real run)."""
    worst = {}
    for name in ("light", "standard"):
        torch.manual_seed(0)
        net = TransformerNet(preset(name))
        target = torch.rand(1, 3, 32, 32)  # a loss that varies over the image, like a Gram/content loss
        peak = []
        for x in (torch.zeros(1, 3, 32, 32), torch.rand(1, 3, 32, 32)):
            net.zero_grad()
            loss = (net.forward_unclamped(x) - target).square().mean()
            loss.backward()
            assert torch.isfinite(loss)
            peak.append(max(float(p.grad.abs().max()) for p in net.parameters()))
        flat, textured = peak
        assert textured < 1.0 and flat > 1e12 * textured, (name, flat, textured)
        worst[name] = flat
    assert worst["standard"] > 1e5 * worst["light"]  # 15 vs 11 instance norms: ~316^4 more
