"""Long-range error of offline.ruder.evaluate on hand-made frames and flows with known values."""
from __future__ import annotations

import pytest
import torch
from torch import Tensor

from offline.ruder.evaluate import long_range_error

H, W, T = 8, 12, 4


def _index(frame: Tensor) -> int:
    return round(float(frame.mean()) * 10)  # original frame k is filled with k/10


def stub_estimator(a: Tensor, b: Tensor) -> Tensor:
    """Zero flow for every pair except i -> i-1, whose two leftmost columns point 100 px out of
    the frame: c(i-1, i) = 0 on columns 0-1 (out of frame) and 2 (motion boundary), 1 elsewhere."""
    flow = torch.zeros(1, 2, H, W)
    if _index(b) == _index(a) - 1:
        flow[:, 0, :, :2] = 100.0
    return flow


def test_long_range_error_known_values() -> None:
    original = torch.stack([torch.full((3, H, W), k / 10) for k in range(T)])
    stylized = original.clone()
    stylized[3, :, :, :3] = 0.6  # frame 3 departs from frame 1 exactly where c(2, 3) = 0
    got = long_range_error(original, stylized, gap=2, estimator=stub_estimator)
    px, band = H * W, H * 3
    # i=2 vs 0: 0.2 everywhere. i=3 vs 1: 0.2 outside the band, 0.5 inside.
    expect_all = (px * 0.04 + (px - band) * 0.04 + band * 0.25) / (2 * px)
    assert got.all == pytest.approx(expect_all)
    assert got.reappear == pytest.approx((band * 0.04 + band * 0.25) / (2 * band))
    assert got.reappear_fraction == pytest.approx(band / px)
    assert got.gap == 2


def test_consistent_clip_scores_zero_and_inputs_are_checked() -> None:
    original = torch.stack([torch.full((3, H, W), k / 10) for k in range(T)])
    stylized = torch.rand(1, 3, H, W).expand(T, -1, -1, -1).clone()  # the same image every frame
    got = long_range_error(original, stylized, gap=2, estimator=stub_estimator)
    assert got.all == pytest.approx(0.0, abs=1e-12) and got.reappear == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="gap"):
        long_range_error(original, stylized, gap=4, estimator=stub_estimator)
    with pytest.raises(ValueError, match="match"):
        long_range_error(original, stylized[:3], gap=2, estimator=stub_estimator)
