"""Optical flow in pure torch: DIS-style patch inverse search, coarse to fine (runs where the
frames are, CUDA or CPU).

Why: the live temporal step's OpenCV DIS runs on the CPU, so on a GPU every frame paid a
device->host copy of the grey frame, two CPU flows and an upload (7-8 ms per frame on an H100
host, more than the compiled network). This estimator follows Kroeger et al. 2016 ("Fast optical
flow using dense inverse search", ECCV), vectorised over all patches instead of OpenCV's
sequential sweeps:

1. grey pyramid (area downsampling by 2); levels from the coarsest (OpenCV's rule: about 4
   patches wide) down to ``finest_scale`` (1 = half the flow grid; DIS "fast" stops at 2);
2. per level, patches of ``patch_size`` every ``patch_stride`` px are initialised from the
   upsampled coarser flow; spatial propagation compares each patch's own flow with its 4
   neighbours' by mean-normalised SSD (all patches at once, a Jacobi version of DIS's raster
   sweeps) and keeps the best; then ``iterations`` inverse-compositional Lucas-Kanade steps with
   the mean-normalised patch and its precomputed Hessian;
3. densification: each pixel averages the flows of the patches covering it, weighted by
   1 / max(1, |I1(x+u) - I0(x)|) in 8-bit grey levels (DIS Eq. 3), via ``F.fold``;
4. a median filter per level, and at the end a Gaussian on the flow grid, stand in for DIS's
   variational refinement (a red-black SOR version of it made the flow worse: docs/bench/live.md
   §2b);
5. the flow is upsampled to the frames' size.

Same contract as :class:`models.flow.estimators.DISFlow`: ``flow(frame_a, frame_b)`` with ``(N,3,H,W)`` RGB
(or ``(N,1,H,W)`` grey) in [0,1] gives ``(N,2,H,W)`` float32 pixels a->b on frame_a's device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from models.backends.cuda_graph import GraphCache
from models.contracts import check
from models.flow.estimators import scaled_size, upsample_flow

@dataclass(frozen=True)
class TorchFlowConfig:
    """DIS "fast"'s patch 8, stride 4 and 16 descent steps at the live loop's flow size (longer
    side 320), but down to scale 1 (half the flow grid) where "fast" stops at 2, and smoothing
    (median 5 per level, Gaussian sigma 6 on the result) in place of variational refinement.
    Why the smoothing: the Ruder et al. confidence test reads flow noise as occlusion, so an
    unsmoothed flow, though more accurate than DIS, made the blender distrust far more pixels
    than are occluded. How each default was chosen: docs/bench/live.md §2b."""

    max_side: int | None = 320
    patch_size: int = 8
    patch_stride: int = 4
    iterations: int = 16
    finest_scale: int = 1
    propagation_rounds: int = 2
    median: int = 5  # window of a median filter on each level's dense flow (0: off)
    blur: float = 6.0  # sigma (px of the flow grid) of a Gaussian on the final flow (0: off)
    # replay grey_flow from a CUDA graph per input shape (one launch instead of ~1000 small
    # kernels); off until measured on a GPU (bench/flow_torch.py); makes the instance stateful
    cuda_graph: bool = False

    def __post_init__(self) -> None:
        if not 2 <= self.patch_stride <= self.patch_size:
            raise ValueError(f"TorchFlowConfig: need 2 <= patch_stride <= patch_size, got {self.patch_stride}, {self.patch_size}")
        if self.iterations < 0 or self.finest_scale < 0 or self.propagation_rounds < 0:
            raise ValueError("TorchFlowConfig: iterations, finest_scale and propagation_rounds must be >= 0")
        if self.median < 0 or (self.median > 1 and self.median % 2 == 0) or self.blur < 0:
            raise ValueError(f"TorchFlowConfig: median must be 0 or odd and blur >= 0, got {self.median}, {self.blur}")
        if self.max_side is not None and self.max_side < 16:
            raise ValueError(f"TorchFlowConfig: max_side must be >= 16 or None, got {self.max_side}")


def to_grey(frames: Tensor, size: tuple[int, int] | None = None) -> Tensor:
    """``(N,3,H,W)`` RGB or ``(N,1,H,W)`` grey in [0,1] -> ``(N,1,h,w)`` float32 luma (ITU-R 601),
    area-resized to ``size`` when given (on the frames' device)."""
    x = frames.float()
    if x.shape[1] == 3:
        x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=size, mode="area")
    return x


def gradients(img: Tensor) -> tuple[Tensor, Tensor]:
    """Sobel derivatives (normalised to unit slope) with replicated borders, ``(N,1,H,W)`` each.
    Slices, not a conv with a kernel tensor: on CUDA a kernel made per call is an upload, and a
    blocking one (a sync) from pageable memory."""
    p = F.pad(img, (1, 1, 1, 1), mode="replicate")
    dx = p[..., 2:] - p[..., :-2]  # (N,1,H+2,W)
    dy = p[..., 2:, :] - p[..., :-2, :]  # (N,1,H,W+2)
    gx = (dx[..., :-2, :] + 2.0 * dx[..., 1:-1, :] + dx[..., 2:, :]) * 0.125
    gy = (dy[..., :-2] + 2.0 * dy[..., 1:-1] + dy[..., 2:]) * 0.125
    return gx, gy


class TorchFlow:
    """DIS-style optical flow in torch (see the module doc). Stateless (one instance may serve
    many streams and threads) unless ``config.cuda_graph``: then one instance per stream."""

    def __init__(self, config: TorchFlowConfig | None = None) -> None:
        self.config = config or TorchFlowConfig()
        self._graphs = GraphCache(self._grey_flow) if self.config.cuda_graph else None

    def __call__(self, frame_a: Tensor, frame_b: Tensor) -> Tensor:
        check(frame_a, "frame_a", shape=("N", None, "H", "W"))
        check(frame_b, "frame_b", shape=("N", None, "H", "W"), like=frame_a)
        for name, t in (("frame_a", frame_a), ("frame_b", frame_b)):
            if t.shape[1] not in (1, 3):
                raise ValueError(f"{name}: expected shape (N,3,H,W) or (N,1,H,W), got {tuple(t.shape)}")
        if frame_b.device != frame_a.device:
            raise ValueError(f"frame_b: expected device {frame_a.device}, got {frame_b.device}")
        h, w = frame_a.shape[-2:]
        size = scaled_size(h, w, self.config.max_side)
        ga, gb = to_grey(frame_a, size), to_grey(frame_b, size)
        n = max(ga.shape[0], gb.shape[0])
        flow = self.grey_flow(ga.expand(n, -1, -1, -1), gb.expand(n, -1, -1, -1))
        return upsample_flow(flow, (h, w))

    def grey_flow(self, grey_a: Tensor, grey_b: Tensor) -> Tensor:
        """Flow a->b on the grid of ``grey_a`` ``(N,1,h,w)`` float32 in [0,1] (already at the flow
        size; the live blender calls this to reuse each frame's grey image for both directions)."""
        if self._graphs is not None:
            return self._graphs(grey_a.float().contiguous(), grey_b.float().contiguous())
        return self._grey_flow(grey_a, grey_b)

    def _grey_flow(self, grey_a: Tensor, grey_b: Tensor) -> Tensor:
        cfg = self.config
        h, w = grey_a.shape[-2:]
        coarsest = _coarsest_scale(h, w, cfg.patch_size)
        finest = min(cfg.finest_scale, coarsest)
        pyr_a, pyr_b = [grey_a.float()], [grey_b.float()]
        for _ in range(coarsest):
            pyr_a.append(_down(pyr_a[-1]))
            pyr_b.append(_down(pyr_b[-1]))
        flow: Tensor | None = None
        for s in range(coarsest, finest - 1, -1):
            i0, i1 = pyr_a[s], pyr_b[s]
            if flow is None:
                flow = i0.new_zeros(i0.shape[0], 2, *i0.shape[-2:])
            else:
                flow = upsample_flow(flow, tuple(i0.shape[-2:]))
            flow = _inverse_search(i0, i1, flow, cfg)
            if cfg.median > 1:
                flow = _median(flow, cfg.median)
        assert flow is not None
        flow = upsample_flow(flow, (h, w))
        if cfg.blur > 0:
            flow = _gauss(flow, cfg.blur)
        return flow.contiguous()


def _coarsest_scale(h: int, w: int, patch: int) -> int:
    # OpenCV DIS's rule: the coarsest level is ~4 patches wide and still at least one patch high.
    a = int(math.log(max(h, w) / (4.0 * patch)) / math.log(2.0) + 0.5)
    b = int(math.log(max(min(h, w), 1) / patch) / math.log(2.0)) if min(h, w) >= patch else 0
    return max(0, min(a, b))


def _down(img: Tensor) -> Tensor:
    h, w = img.shape[-2:]
    return F.interpolate(img, size=(max(1, (h + 1) // 2), max(1, (w + 1) // 2)), mode="area")


def _grid_count(n: int, p: int, s: int) -> int:
    return 1 if n <= p else math.ceil((n - p) / s) + 1


def _inverse_search(i0: Tensor, i1: Tensor, flow: Tensor, cfg: TorchFlowConfig) -> Tensor:
    """One pyramid level: patch flows from ``flow``, propagated, refined, densified."""
    n, _, h, w = i0.shape
    p, s = cfg.patch_size, cfg.patch_stride
    gh, gw = _grid_count(h, p, s), _grid_count(w, p, s)
    ph, pw = (gh - 1) * s + p, (gw - 1) * s + p  # padded size covered by the patch grid
    pad = (0, pw - w, 0, ph - h)

    def patches(t: Tensor) -> Tensor:  # (N,C,h,w) -> (N,C,p*p,L)
        t = F.pad(t, pad, mode="replicate") if pad != (0, 0, 0, 0) else t
        c = t.shape[1]
        return F.unfold(t, p, stride=s).view(t.shape[0], c, p * p, gh * gw)

    gx, gy = gradients(i0)
    tmpl = patches(i0)[:, 0]
    g = patches(torch.cat((gx, gy), 1))
    g = g - g.mean(2, keepdim=True)  # mean normalisation (DIS, robust to brightness change)
    hxx, hxy, hyy = (g[:, 0] ** 2).sum(1), (g[:, 0] * g[:, 1]).sum(1), (g[:, 1] ** 2).sum(1)
    det = (hxx * hyy - hxy**2).clamp_min(1e-10)  # flat patches: tiny steps, not NaN
    # the step is H^-1 sum_patch g * (I1(x+u) - mean - T_c); g sums to 0 over a patch, so the
    # means drop out and the template's part is a constant: per step one sample, one product
    # with the pre-multiplied H^-1 g, one subtraction (few kernels: launches dominate on a GPU)
    hinv_g = torch.stack((hyy[:, None] * g[:, 0] - hxy[:, None] * g[:, 1],
                          hxx[:, None] * g[:, 1] - hxy[:, None] * g[:, 0]), 1) / det[:, None, None]
    tmpl_c = tmpl - tmpl.mean(1, keepdim=True)
    step_const = (hinv_g * tmpl_c[:, None]).sum(2)  # (N,2,L)
    ys, xs = torch.meshgrid(torch.arange(ph, device=i0.device, dtype=torch.float32),
                            torch.arange(pw, device=i0.device, dtype=torch.float32), indexing="ij")
    # patch pixel positions as grid_sample coordinates, (1,p*p,L,2) in [-1,1]: normalised once,
    # so each sample adds the patch flows (also normalised) instead of rebuilding the grid.
    # Scales are Python floats: a small tensor made here would be an upload (a sync) on CUDA.
    sx, sy = 2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)
    coords = torch.stack((xs * sx - 1.0, ys * sy - 1.0))[None]
    base = F.unfold(coords, p, stride=s).view(2, p * p, gh * gw).permute(1, 2, 0)[None]

    def sample(u: Tensor) -> Tensor:  # u (N,2,L) -> I1 at each patch pixel + u, (N,p*p,L)
        grid = base + torch.stack((u[:, 0] * sx, u[:, 1] * sy), -1)[:, None]
        return F.grid_sample(i1, grid, mode="bilinear", padding_mode="border", align_corners=True)[:, 0]

    def ssd(u: Tensor) -> Tensor:
        v = sample(u)
        return ((v - v.mean(1, keepdim=True) - tmpl_c) ** 2).sum(1)

    # initial patch flows: the coarser flow averaged over each patch
    u = patches(flow).mean(2)
    for _ in range(cfg.propagation_rounds):
        u = _propagate(u, ssd, gh, gw)
    best, best_cost = u, ssd(u)
    for _ in range(cfg.iterations):
        du = (hinv_g * sample(u)[:, None]).sum(2) - step_const
        u = u - du.clamp(-float(p), float(p))  # inverse compositional update; a step > a patch is noise
    cost = ssd(u)
    u = torch.where((cost <= best_cost)[:, None], u, best)  # DIS keeps the descent only if it helped
    # densification (DIS Eq. 3): photometric-error-weighted average of the covering patches
    err = (sample(u) - tmpl).abs() * 255.0
    wgt = 1.0 / err.clamp_min(1.0)  # (N,p*p,L)
    stacked = torch.cat((wgt * u[:, 0:1], wgt * u[:, 1:2], wgt), 1)  # (N,3*p*p,L)
    folded = F.fold(stacked.view(n, 3 * p * p, gh * gw), (ph, pw), p, stride=s)
    dense = folded[:, :2] / folded[:, 2:].clamp_min(1e-12)
    return dense[..., :h, :w].contiguous()


def _propagate(u: Tensor, ssd, gh: int, gw: int) -> Tensor:  # type: ignore[no-untyped-def]
    """Each patch takes the flow among its own and its 4 grid neighbours' with the lowest SSD."""
    n = u.shape[0]
    grid = u.view(n, 2, gh, gw)
    padded = F.pad(grid, (1, 1, 1, 1), mode="replicate")
    cands = [grid, padded[..., 1:-1, :-2], padded[..., 1:-1, 2:], padded[..., :-2, 1:-1], padded[..., 2:, 1:-1]]
    flat = [c.reshape(n, 2, gh * gw) for c in cands]
    costs = torch.stack([ssd(c) for c in flat], 0)  # (5,N,L)
    pick = costs.argmin(0)  # (N,L)
    stacked = torch.stack(flat, 0)  # (5,N,2,L)
    return torch.gather(stacked, 0, pick[None, :, None, :].expand(1, n, 2, -1))[0]


def _median(flow: Tensor, k: int) -> Tensor:
    n, c, h, w = flow.shape
    p = F.pad(flow, (k // 2, k // 2, k // 2, k // 2), mode="replicate")
    # window along the last, contiguous dim: CPU median is ~3x faster there than across dim 2
    return F.unfold(p, k).view(n, c, k * k, h * w).transpose(2, 3).contiguous().median(-1).values.view(n, c, h, w)


def _gauss(flow: Tensor, sigma: float) -> Tensor:
    r = max(1, int(2.5 * sigma + 0.5))
    x = torch.arange(-r, r + 1, device=flow.device, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    k = (k / k.sum()).to(flow.dtype)
    c = flow.shape[1]
    out = F.conv2d(F.pad(flow, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(out, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
