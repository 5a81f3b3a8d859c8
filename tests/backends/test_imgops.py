"""models.imgops: the OpenCV routes on the CPU give PyTorch's values (box mean, resize)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from models.imgops import box_mean, gaussian_blur, resize


@pytest.mark.parametrize("k", [3, 7, 9])
@pytest.mark.parametrize("shape", [(1, 6, 36, 48), (2, 1, 5, 4), (1, 2, 1, 9), (1, 1, 4, 4)])
def test_matches_avg_pool_with_clipped_windows(k: int, shape: tuple[int, ...]) -> None:
    t = torch.rand(shape, generator=torch.Generator().manual_seed(k))
    want = F.avg_pool2d(t, k, stride=1, padding=k // 2, count_include_pad=False) if min(shape[-2:]) >= k // 2 else None
    got = box_mean(t, k)
    assert got.shape == t.shape and got.dtype == t.dtype
    if want is not None:
        assert torch.allclose(got, want, atol=2e-6), float((got - want).abs().max())
    # known values: a corner averages only the taps inside the frame
    h, w = shape[-2:]
    r = k // 2
    assert torch.allclose(got[..., 0, 0], t[..., : r + 1, : r + 1].mean((-2, -1)), atol=2e-6)
    assert torch.allclose(got[..., h // 2, w // 2],
                          t[..., max(0, h // 2 - r): h // 2 + r + 1, max(0, w // 2 - r): w // 2 + r + 1].mean((-2, -1)), atol=2e-6)


def test_constant_stays_constant_and_grad_path() -> None:
    t = torch.full((1, 2, 10, 12), 0.3)
    assert torch.allclose(box_mean(t, 7), t, atol=1e-7)
    g = torch.rand(1, 1, 8, 8, requires_grad=True)
    box_mean(g, 3).sum().backward()  # autograd: the avg_pool2d path
    assert g.grad is not None
    with pytest.raises(ValueError, match="odd window"):
        box_mean(t, 4)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("src,dst", [((36, 48), (48, 64)), ((7, 5), (20, 13)), ((40, 40), (17, 23))])
def test_resize_matches_interpolate(mode: str, src: tuple[int, int], dst: tuple[int, int]) -> None:
    t = torch.rand((2, 3, *src), generator=torch.Generator().manual_seed(1))
    want = F.interpolate(t, size=dst, mode=mode, align_corners=False)
    got = resize(t, dst, mode=mode)
    assert got.shape == want.shape
    assert torch.allclose(got, want, atol=1e-5), float((got - want).abs().max())


def test_gaussian_blur_cpu_route_equals_the_torch_route() -> None:
    t = torch.rand((1, 3, 30, 41), generator=torch.Generator().manual_seed(2))
    got = gaussian_blur(t, 1.0)  # OpenCV
    t2 = t.clone().requires_grad_(True)
    want = gaussian_blur(t2, 1.0).detach()  # autograd: the torch route
    assert torch.allclose(got, want, atol=1e-5), float((got - want).abs().max())
    flat = torch.full((1, 1, 9, 9), 0.4)
    assert torch.allclose(gaussian_blur(flat, 1.0), flat, atol=1e-6)
    # known value: the centre of an impulse is the kernel's peak, 1/(sum of exp(-x^2/2))^2 for sigma 1
    imp = torch.zeros(1, 1, 15, 15)
    imp[0, 0, 7, 7] = 1.0
    peak = 1.0 / float(torch.exp(-torch.arange(-3.0, 4.0) ** 2 / 2).sum()) ** 2
    assert abs(float(gaussian_blur(imp, 1.0)[0, 0, 7, 7]) - peak) < 1e-6
