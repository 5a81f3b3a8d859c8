"""Known-value tests for warping, blending and the Ruder et al. consistency weights."""
from __future__ import annotations

import pytest
import torch

from models.flow.consistency import consistency_weights
from models.flow.warp import blend, warp
from tests.conftest import TOL, device_dtype_matrix


@pytest.mark.parametrize("device,dtype", device_dtype_matrix())
def test_zero_flow_is_identity(device: str, dtype: torch.dtype) -> None:
    img = torch.rand(2, 3, 17, 23, device=device).to(dtype)
    out = warp(img, torch.zeros(2, 2, 17, 23, device=device))
    assert out.dtype == dtype and out.shape == img.shape
    torch.testing.assert_close(out, img, atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize("device,dtype", device_dtype_matrix())
def test_integer_shift_moves_pixels_exactly(device: str, dtype: torch.dtype) -> None:
    img = torch.rand(1, 3, 12, 16, device=device).to(dtype)
    flow = torch.zeros(1, 2, 12, 16, device=device)
    flow[:, 0] = 3.0  # sample 3 px to the right
    flow[:, 1] = -2.0  # and 2 px up
    out = warp(img, flow)
    torch.testing.assert_close(out[..., 2:, :13], img[..., :-2, 3:], atol=TOL[dtype], rtol=0)


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float16, 1e-3), (torch.bfloat16, 8e-3)])
def test_half_precision_frames_warp_to_the_right_place_at_1080p_width(dtype: torch.dtype, tol: float) -> None:
    """Sub-pixel flow on a 1920-wide, 8-px-period pattern: the result must match the float64 warp
    to the input's own quantisation. A grid built in float16 lands up to ~0.5 px off near the
    right edge (0.25 error on this pattern, measured before the fix); bfloat16 up to ~4 px."""
    import math

    x = torch.arange(1920, dtype=torch.float64)
    img = (0.5 + 0.5 * torch.sin(2 * math.pi * x / 8)).expand(1, 3, 4, 1920).contiguous()
    flow = torch.zeros(1, 2, 4, 1920)
    flow[:, 0] = 0.3
    ref = warp(img, flow)
    out = warp(img.to(dtype), flow)
    assert out.dtype == dtype
    assert float((out.double() - ref).abs().max()) < tol


def test_warp_does_not_modify_inputs_and_checks_shapes() -> None:
    img = torch.rand(1, 3, 8, 8)
    flow = torch.ones(1, 2, 8, 8)
    img0, flow0 = img.clone(), flow.clone()
    warp(img, flow)
    assert torch.equal(img, img0) and torch.equal(flow, flow0)
    with pytest.raises(ValueError, match=r"expected shape \(N,2,H,W\)"):
        warp(img, torch.zeros(1, 3, 8, 8))
    with pytest.raises(ValueError, match="matching"):
        warp(img, torch.zeros(1, 2, 8, 9))


def test_blend_limits() -> None:
    fresh, prev = torch.rand(1, 3, 5, 5), torch.rand(1, 3, 5, 5)
    zero, one = torch.zeros(1, 1, 5, 5), torch.ones(1, 1, 5, 5)
    assert torch.equal(blend(fresh, prev, zero, strength=0.9), fresh)
    torch.testing.assert_close(blend(fresh, prev, one, strength=1.0), prev)
    torch.testing.assert_close(blend(fresh, prev, one, strength=0.25), 0.75 * fresh + 0.25 * prev)
    with pytest.raises(ValueError, match="strength"):
        blend(fresh, prev, one, strength=1.5)


def _square_motion(h: int = 40, w: int = 60, shift: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A 12x12 square moves `shift` px right over a static background.

    Returns (flow_bwd cur->prev, flow_fwd prev->cur, true disoccluded region on cur's grid)."""
    fwd = torch.zeros(1, 2, h, w)
    bwd = torch.zeros(1, 2, h, w)
    y0, x0, s = 14, 20, 12
    fwd[0, 0, y0:y0 + s, x0:x0 + s] = shift  # square pixels in prev move right
    bwd[0, 0, y0:y0 + s, x0 + shift:x0 + shift + s] = -shift  # square pixels in cur came from left
    disocc = torch.zeros(1, 1, h, w, dtype=torch.bool)
    disocc[0, 0, y0:y0 + s, x0:x0 + shift] = True  # background uncovered behind the square
    return bwd, fwd, disocc


def test_consistency_marks_disocclusion_and_boundaries() -> None:
    bwd, fwd, disocc = _square_motion()
    c = consistency_weights(bwd, fwd)
    assert c.shape == (1, 1, 40, 60) and c.dtype == torch.float32
    # every truly disoccluded pixel is marked unreliable
    assert (c[disocc] == 0).all()
    # static background far from the square is reliable
    assert c[0, 0, :8].eq(1).all() and c[0, 0, :, 45:].eq(1).all()
    # the interior of the moving square (away from its boundaries) is reliable
    assert c[0, 0, 17:23, 29:35].eq(1).all()
    # motion boundary columns of the square are marked
    assert c[0, 0, 16:24, 26].eq(0).all() or c[0, 0, 16:24, 25].eq(0).all()


def test_consistency_out_of_frame_is_unreliable() -> None:
    flow = torch.zeros(1, 2, 10, 10)
    flow[:, 0] = 4.0  # uniform pan: right 4 columns sample outside
    c = consistency_weights(flow, -flow)
    assert c[..., :, 6:].eq(0).all() and c[..., :, :6].eq(1).all()
