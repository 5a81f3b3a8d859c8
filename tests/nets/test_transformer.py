"""TransformerNet: shapes, ranges and dtypes; any input size maps to the same size."""
from __future__ import annotations

import pytest
import torch

from models.nets.transformer import PRESETS, TransformerConfig, TransformerNet, preset
from tests.conftest import TOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name", ["light", "standard"])
def test_output_range_shape_dtype(name: str, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    net = TransformerNet(PRESETS[name]).to(dtype).eval()
    x = torch.rand(2, 3, 24, 32, dtype=dtype)
    with torch.no_grad():
        y = net(x)
        raw = net.forward_unclamped(x)
    assert y.shape == x.shape and y.dtype == dtype
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    torch.testing.assert_close(y, raw.clamp(0, 1), atol=TOL[dtype], rtol=0)
    # Batch items are independent (instance norm, no batch statistics).
    with torch.no_grad():
        y1 = net(x[1:])
    torch.testing.assert_close(y1, y[1:], atol=max(TOL[dtype], 1e-5), rtol=1e-4)


def test_float32_and_float64_agree() -> None:
    torch.manual_seed(1)
    net = TransformerNet(PRESETS["light"]).eval()
    x = torch.rand(1, 3, 20, 28)
    with torch.no_grad():
        a = net.forward_unclamped(x)
        b = net.double().forward_unclamped(x.double())
    torch.testing.assert_close(a.double(), b, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("hw", [(1, 1), (5, 3), (3, 5), (7, 9), (17, 31), (33, 2), (64, 48)])
def test_any_size_returns_same_size(hw: tuple[int, int]) -> None:
    torch.manual_seed(0)
    net = TransformerNet(PRESETS["light"]).eval()
    x = torch.rand(1, 3, *hw)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


def test_parameter_counts_and_config_round_trip() -> None:
    n_std = sum(p.numel() for p in TransformerNet(PRESETS["standard"]).parameters())
    n_light = sum(p.numel() for p in TransformerNet(PRESETS["light"]).parameters())
    assert 1.6e6 < n_std < 1.8e6  # Johnson et al. 2016 widths
    assert n_light < n_std / 3
    cfg = TransformerConfig.from_dict(PRESETS["light"].to_dict())
    assert cfg == PRESETS["light"]
    with pytest.raises(ValueError, match="unknown preset"):
        preset("huge")


def test_rejects_bad_input() -> None:
    net = TransformerNet(PRESETS["light"])
    with pytest.raises(ValueError, match=r"expected shape \(N,3,H,W\)"):
        net(torch.rand(3, 8, 8))
    with pytest.raises(TypeError, match="dtype"):
        net(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
