"""`stylecast train --style-scale F`: the Gram targets come from the painting at F x --style-size.

Synthetic images only (no ../shared needed): a striped "painting" whose Grams change with scale.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.errors import UserError
from models.training import loop as T


def _images(tmp_path: Path) -> tuple[str, str]:
    from models.io.image import write_image

    yy, xx = np.mgrid[0:90, 0:120]
    stripes = (127.5 + 127.5 * np.sin(2 * np.pi * (xx + 0.5 * yy) / 7.0)).astype(np.uint8)
    style = np.stack([stripes, stripes[::-1], 255 - stripes], axis=-1)
    rng = np.random.default_rng(0)
    write_image(tmp_path / "style.png", style)
    write_image(tmp_path / "content.png", rng.integers(0, 256, (64, 80, 3), dtype=np.uint8))
    return str(tmp_path / "style.png"), str(tmp_path / "content.png")


def _cfg(tmp_path: Path, **kw) -> T.TrainConfig:
    style, content = _images(tmp_path)
    base = dict(style=style, content=(content,), output=str(tmp_path / "out.safetensors"), size=32,
                style_size=48, batch_size=1, steps=2, checkpoint_every=1, preview_every=0)
    return T.TrainConfig(**{**base, **kw})


def test_style_pixels_known_values(tmp_path: Path) -> None:
    assert _cfg(tmp_path).style_pixels() == 48
    assert _cfg(tmp_path, style_size=384, style_scale=2.5).style_pixels() == 960
    assert _cfg(tmp_path, style_size=300, style_scale=1 / 3).style_pixels() == 100


def test_targets_equal_those_at_scaled_style_size(tmp_path: Path) -> None:
    from models.losses.networks import build_loss_network

    net = build_loss_network("efficientnet_lite0")
    cpu = torch.device("cpu")
    scaled = T.style_targets(_cfg(tmp_path, style_scale=2.0), net, cpu)
    at_96 = T.style_targets(_cfg(tmp_path, style_size=96), net, cpu)
    at_48 = T.style_targets(_cfg(tmp_path), net, cpu)
    for k in net.style_taps:
        assert torch.equal(scaled[k], at_96[k]), k
    # the stripes are 7 px at 48 and 14 px at 96: the targets must differ, or the option did nothing
    assert max(float((scaled[k] - at_48[k]).abs().max() / at_48[k].abs().max()) for k in net.style_taps) > 0.05


def test_cli_records_style_scale_and_resume_checks_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from models.cli import main
    from models.styles.checkpoint import load_style

    style, content = _images(tmp_path)
    out = tmp_path / "s.safetensors"
    args = ["train", "--style", style, "--content", content, "--size", "32", "--style-size", "48",
            "--batch-size", "1", "--steps", "2", "--device", "cpu", "--preview-every", "0", "-o", str(out)]
    assert main([*args, "--style-scale", "2"]) == 0
    _, meta = load_style(out)
    assert meta["training"]["style_scale"] == 2.0 and meta["training"]["style_size"] == 48
    state = torch.load(tmp_path / "s.safetensors.work" / "state.pt", map_location="cpu", weights_only=False)
    assert T.config_from_saved(state["config"]).style_pixels() == 96
    # default scale: not written, so files trained without the option keep their metadata
    plain = tmp_path / "p.safetensors"
    assert main([*args[:-1], str(plain)]) == 0
    assert "style_scale" not in load_style(plain)[1]["training"]
    # a saved run at scale 2 is not resumed at another scale
    capsys.readouterr()
    assert main([*args, "--style-scale", "3"]) == 2
    assert "different settings" in capsys.readouterr().err
    for bad in ("0", "-1", "0.1"):  # 0.1 x 48 = 5 px
        assert main([*args, "--style-scale", bad, "--fresh"]) == 2
        assert "--style-scale: expected a factor in (0, 16]" in capsys.readouterr().err
    for bad_f in (float("nan"), float("inf"), 100.0):  # the CLI's float parser already refuses nan/inf
        with pytest.raises(UserError, match="--style-scale: expected a factor"):
            T.train(_cfg(tmp_path, output=str(tmp_path / "bad.safetensors"), style_scale=bad_f), progress=False)
