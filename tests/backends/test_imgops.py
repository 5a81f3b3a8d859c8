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


def test_area_resize_weighs_covered_fractions() -> None:
    """CPU "area": each output pixel is the mean of the input area it covers (4 -> 3: pixel 0
    covers [0, 4/3), all of x0 and a third of x1); channels_last frames and planes agree."""
    row = torch.tensor([1.0, 4.0, 7.0, 10.0]).view(1, 1, 1, 4).expand(1, 3, 3, 4).contiguous()
    got = resize(row, (3, 3), mode="area")
    want = torch.tensor([(1.0 + 4.0 / 3) * 3 / 4, (4.0 * 2 / 3 + 7.0 * 2 / 3) * 3 / 4, (7.0 / 3 + 10.0) * 3 / 4])
    assert torch.allclose(got[0, 0, 1], want, atol=1e-5), got[0, 0, 1]
    frame = torch.rand(2, 48, 64, 3, generator=torch.Generator().manual_seed(3)).permute(0, 3, 1, 2)  # channels_last view
    a, b = resize(frame, (36, 48), mode="area"), resize(frame.contiguous(), (36, 48), mode="area")
    assert a.shape == b.shape == (2, 3, 36, 48) and torch.allclose(a, b, atol=1e-6)
    # an integer factor is a plain 2x2 mean on both routes
    want2 = F.avg_pool2d(frame.contiguous(), 2)
    assert torch.allclose(resize(frame, (24, 32), mode="area"), want2, atol=1e-6)
    assert torch.allclose(resize(frame.double(), (24, 32), mode="area").float(), want2, atol=1e-6)  # torch route


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_remap_matches_grid_sample_with_border(mode: str) -> None:
    from models.flow.warp import sample_coords
    from models.imgops import remap

    g = torch.Generator().manual_seed(4)
    img = torch.rand(2, 3, 30, 40, generator=g)
    flow = torch.randn(2, 2, 30, 40, generator=g) * 4  # some samples leave the frame: clamped to the border
    coords = sample_coords(flow)
    h, w = img.shape[-2:]
    grid = torch.stack((coords[:, 0] * 2 / (w - 1) - 1, coords[:, 1] * 2 / (h - 1) - 1), -1)
    want = F.grid_sample(img, grid, mode=mode, padding_mode="border", align_corners=True)
    got = remap(img, coords, mode=mode)
    assert got.shape == want.shape
    assert float((got - want).abs().max()) < 1e-4  # OpenCV's 1/32 px sampling grid
    shifted = remap(img, sample_coords(torch.full((1, 2, 30, 40), 2.0)), mode=mode)
    assert torch.equal(shifted[..., :-2, :-2], img[..., 2:, 2:])  # integer flows move pixels exactly
    assert remap(img.double(), coords, mode=mode) is None  # other dtypes: the caller's grid_sample
