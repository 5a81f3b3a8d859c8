"""Per-frame image arithmetic of the live path with a fast CPU route: :func:`box_mean` (guided
upsampling, the temporal blend's detail restore), :func:`resize` (bilinear / bicubic / area),
:func:`gaussian_blur` (the upsampled output's sharpening) and :func:`remap` (the flow warp).

Why: PyTorch's CPU kernels for these are slow for a few planes of a video frame (one thread,
360x480: ``avg_pool2d`` k=3 on 6 planes 11.6 ms; bicubic upsampling of 3 planes to 640x480
8.3 ms), while OpenCV's running-sum box filter and its resize compute the same values in a
fraction of that (0.7 ms for the bicubic; docs/bench/render_scale.md §5). So CPU float32 tensors
that need no gradient go through OpenCV; everything else (CUDA, autograd, other dtypes) through
PyTorch. Both routes give the same values to float32 rounding (tests/backends/test_imgops.py),
except two, which say so: "area" resizing (OpenCV weighs pixels by the fraction each output
pixel covers; PyTorch's adaptive pooling averages whole overlapping windows) and :func:`remap`
(OpenCV quantises sampling positions to 1/32 px: <= 5e-5 of the [0,1] range on a frame).
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def _cpu_route(t: Tensor) -> bool:
    """Whether ``t`` takes the OpenCV route: a CPU float32 tensor that needs no gradient."""
    return t.device.type == "cpu" and t.dtype == torch.float32 and not (t.requires_grad and torch.is_grad_enabled())


def box_mean(t: Tensor, k: int) -> Tensor:
    """``(N,C,H,W)`` -> same shape: mean over the k x k window (k odd) clipped at the border."""
    if k < 1 or k % 2 == 0:
        raise ValueError(f"box_mean: expected an odd window k >= 1, got {k}")
    if t.dim() != 4:
        raise ValueError(f"box_mean: expected (N,C,H,W), got shape {tuple(t.shape)}")
    if k == 1:
        return t
    if not _cpu_route(t):
        return F.avg_pool2d(t, k, stride=1, padding=k // 2, count_include_pad=False)
    n, c, h, w = t.shape
    src = t.detach().contiguous().reshape(n * c, h, w).numpy()
    out = np.empty_like(src)
    for i in range(n * c):
        cv2.boxFilter(src[i], -1, (k, k), dst=out[i], normalize=False, borderType=cv2.BORDER_CONSTANT)
    out /= _taps(h, k)[:, None] * _taps(w, k)[None, :]
    return torch.from_numpy(out).reshape(n, c, h, w)


def _taps(n: int, k: int) -> np.ndarray:
    """Per position along a side of length n: how many of the k window taps fall inside."""
    r = k // 2
    i = np.arange(n, dtype=np.float32)
    return (k - np.clip(r - i, 0, None) - np.clip(i + r - (n - 1), 0, None)).astype(np.float32)


_CV_MODES = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA}


def resize(t: Tensor, size: tuple[int, int], *, mode: str) -> Tensor:
    """``F.interpolate(t, size=(h, w), mode=mode, align_corners=False)`` for ``mode`` bilinear or
    bicubic (OpenCV uses the same pixel-centre convention, cubic a = -0.75 and edge clamping);
    "area" (downscaling, no aliasing): on the CPU route each output pixel is the mean of the input
    area it covers, fractional pixels weighted (a true box prefilter; 6.5 -> 1.3 ms for a 640x480
    frame to 480x360), elsewhere PyTorch's adaptive average pooling."""
    if mode not in _CV_MODES:
        raise ValueError(f"resize: mode must be one of {tuple(_CV_MODES)}, got {mode!r}")
    if t.dim() != 4:
        raise ValueError(f"resize: expected (N,C,H,W), got shape {tuple(t.shape)}")
    h, w = int(size[0]), int(size[1])
    if not _cpu_route(t):
        return F.interpolate(t, size=(h, w), mode=mode, align_corners=None if mode == "area" else False)
    n, c = t.shape[:2]
    if t.is_contiguous(memory_format=torch.channels_last) and 1 < c <= 4:
        # frames decoded as HxWx3 are channels_last views: resize them interleaved, no layout copy
        planes = [cv2.resize(t[i].detach().permute(1, 2, 0).numpy(), (w, h), interpolation=_CV_MODES[mode])
                  for i in range(n)]
        return torch.from_numpy(np.stack(planes)).permute(0, 3, 1, 2)
    src = t.detach().contiguous().reshape(n * c, *t.shape[-2:]).numpy()
    out = np.empty((n * c, h, w), dtype=np.float32)
    for i in range(n * c):
        cv2.resize(src[i], (w, h), dst=out[i], interpolation=_CV_MODES[mode])
    return torch.from_numpy(out).reshape(n, c, h, w)


def gaussian_blur(t: Tensor, sigma: float) -> Tensor:
    """``(N,C,H,W)`` blurred by a separable Gaussian of ``sigma`` px, kernel ``2*round(3*sigma)+1``
    taps, mirrored border without repeating the edge pixel (OpenCV's BORDER_REFLECT_101, torch's
    "reflect" pad)."""
    if not sigma > 0:
        raise ValueError(f"gaussian_blur: sigma must be > 0, got {sigma}")
    if t.dim() != 4:
        raise ValueError(f"gaussian_blur: expected (N,C,H,W), got shape {tuple(t.shape)}")
    r = int(round(3 * sigma))
    k = 2 * r + 1
    n, c, h, w = t.shape
    if h <= r or w <= r:  # too small to mirror: leave it (nothing to sharpen at this size)
        return t
    if not _cpu_route(t):
        x = torch.arange(k, device=t.device, dtype=torch.float32) - r
        g = torch.exp(-x * x / (2 * sigma * sigma))
        g = (g / g.sum()).to(t.dtype)
        y = F.pad(t.reshape(n * c, 1, h, w), (r, r, r, r), mode="reflect")
        y = F.conv2d(F.conv2d(y, g.view(1, 1, 1, k)), g.view(1, 1, k, 1))
        return y.reshape(n, c, h, w)
    src = t.detach().contiguous().reshape(n * c, h, w).numpy()
    out = np.empty_like(src)
    for i in range(n * c):
        cv2.GaussianBlur(src[i], (k, k), sigma, dst=out[i], sigmaY=sigma, borderType=cv2.BORDER_REFLECT_101)
    return torch.from_numpy(out).reshape(n, c, h, w)


def remap(image: Tensor, coords: Tensor, *, mode: str) -> Tensor:
    """``image`` ``(N,C,H,W)`` sampled at absolute pixel coordinates ``coords`` ``(N,2,h,w)``
    (x, y), bilinear or bicubic, positions outside clamped to the border (``grid_sample`` with
    ``align_corners=True``, ``padding_mode="border"``). CPU float32 without gradient: OpenCV
    (bicubic 9.1 -> 3.5 ms for 3 planes of 480x360), sampling positions quantised to 1/32 px;
    ``None`` elsewhere (the caller uses ``grid_sample``)."""
    if mode not in ("bilinear", "bicubic"):
        raise ValueError(f"remap: mode must be bilinear or bicubic, got {mode!r}")
    if not (_cpu_route(image) and coords.device.type == "cpu" and coords.dtype == torch.float32) or image.shape[1] > 4:
        return None
    n = max(image.shape[0], coords.shape[0])
    out = []
    for i in range(n):
        src = image[min(i, image.shape[0] - 1)].detach().permute(1, 2, 0).contiguous().numpy()
        xy = coords[min(i, coords.shape[0] - 1)].detach()
        mx, my = np.ascontiguousarray(xy[0].numpy()), np.ascontiguousarray(xy[1].numpy())
        res = cv2.remap(src, mx, my, _CV_MODES[mode], borderMode=cv2.BORDER_REPLICATE)
        out.append(res.reshape(res.shape[0], res.shape[1], -1))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)
