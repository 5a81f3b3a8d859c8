"""Render scale: run the network on a smaller frame, upsample its output edge-aware.

The feed-forward networks cost ~area: at half size a frame costs a quarter, and the strokes keep
the size (in network pixels) the style was trained at instead of shrinking on a large frame.
Plain upsampling of the small output blurs every edge the small frame could not hold; here the
output keeps the network's own pixels (bicubic) and gets the input's lost fine detail added back,
scaled per pixel by the local linear coefficient ``A`` of the guided filter (He, Sun & Tang, ECCV
2010; fitted at the low resolution and upsampled as in the fast guided filter, He & Sun 2015,
arXiv:1505.00996): where the style follows the input's edges (A large) they come back sharp,
where the style painted over them (A ~ 0) nothing is added.

What it costs in style (docs/bench/render_scale.md): strokes are painted at the network's size,
so at scale s they are 1/s times larger on the frame than at full size, and the VGG style loss
to the painting rises with it (~1.1-1.2x at 0.75, ~1.5-1.9x at 0.5 on a 486x284 frame).

Pure tensor functions; frames ``(N,3,H,W)`` RGB [0,1] any float dtype (the fit itself runs in
float32: box variances of fp16 values lose too many bits).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from models.contracts import check, check_frames
from models.imgops import box_mean, gaussian_blur, resize


@dataclass(frozen=True)
class RenderScale:
    """Size the network runs at, relative to the frame: ``scale`` times the frame's size and at
    most ``max_side`` on the longer side (None: no cap). 1.0 / None = full size (no filter).

    radius / eps: guided-filter window radius (in low-resolution pixels) and regulariser. A small
    eps lets the output follow the input's edges closely; a large one degrades towards bilinear.
    sharpen: unsharp-mask amount (Gaussian sigma 1 px at the full size) on the upsampled output:
    upsampling flattens the strokes' fine texture, which the VGG style loss to the painting
    counts. Chosen on the tuning clip (docs/bench/render_scale.md §8c): at scale 0.75, 0.25 and 0.5
    gave the same mean ratio over six styles (1.03x vs 1.14x without), 0.25 the better worst case.
    """

    scale: float = 1.0
    max_side: int | None = None
    radius: int = 1
    eps: float = 1e-3
    sharpen: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(f"RenderScale: scale must be in (0,1], got {self.scale}")
        if self.max_side is not None and self.max_side < 16:
            raise ValueError(f"RenderScale: max_side must be >= 16, got {self.max_side}")
        if self.radius < 1 or not self.eps > 0:
            raise ValueError(f"RenderScale: radius >= 1 and eps > 0 expected, got {self.radius}, {self.eps}")
        if not 0.0 <= self.sharpen <= 2.0:
            raise ValueError(f"RenderScale: sharpen must be in [0,2], got {self.sharpen}")

    def size(self, h: int, w: int) -> tuple[int, int]:
        """Network size for an ``h x w`` frame (at least 16 px a side, never larger than the frame)."""
        s = self.scale
        if self.max_side is not None:
            s = min(s, self.max_side / max(h, w))
        if s >= 1.0:
            return h, w
        return min(h, max(16, round(h * s))), min(w, max(16, round(w * s)))

    @property
    def identity(self) -> bool:
        return self.scale >= 1.0 and self.max_side is None


def downscale(frames: Tensor, size: tuple[int, int]) -> Tensor:
    """Area-averaged resize (no aliasing) to ``size=(h, w)``; the frames themselves if equal."""
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    return resize(frames, size, mode="area")  # OpenCV's box prefilter for CPU float32 (models.imgops)


def luma(frames: Tensor) -> Tensor:
    """``(N,3,H,W)`` -> ``(N,1,H,W)`` ITU-R 601 luma, same dtype."""
    return 0.299 * frames[:, 0:1] + 0.587 * frames[:, 1:2] + 0.114 * frames[:, 2:3]


def guided_upsample(low_out: Tensor, low_in: Tensor, full_in: Tensor, *, radius: int = 1,
                    eps: float = 1e-3, sharpen: float = 0.0) -> Tensor:
    """``low_out`` (the network's output for ``low_in``) brought to ``full_in``'s size: the
    network's own pixels upsampled bicubically, plus the input's fine detail that the small frame
    lost, ``A * (I_full - up(I_low))``, scaled by the local linear coefficient ``A`` of the guided
    filter (He et al.) fitted between the small input's luma and the network output.

    Why not the plain fast guided filter (``A * I_full + b`` with box-averaged ``A``, ``b``):
    its ``b`` is a box mean, which blurs the stroke texture away; measured VGG style loss to the
    painting 2.7x of full size at half scale against 1.8x for this form, 1.3x for bicubic alone
    (docs/bench/render_scale.md). All three ``(N,3,*,*)``; ``low_out`` and ``low_in`` of one
    size. ``sharpen``: unsharp-mask amount on the result (:class:`RenderScale`). Returns
    ``(N,3,H,W)`` in [0,1] in ``low_out``'s dtype."""
    check_frames(full_in, "full_in")
    check(low_in, "low_in", shape=(full_in.shape[0], 3, None, None))
    check_frames(low_out, "low_out", like=low_in)
    if low_out.shape[-2:] != low_in.shape[-2:]:
        raise ValueError(f"guided_upsample: low_out {tuple(low_out.shape)} and low_in {tuple(low_in.shape)} "
                         f"must have the same size")
    size = tuple(full_in.shape[-2:])
    if tuple(low_out.shape[-2:]) == size:
        return low_out
    g, p = luma(low_in.float()), low_out.float()
    # One pooling call for the four local means (guide, output, guide*output, guide^2).
    means = box_mean(torch.cat([g, p, g * p, g * g], 1), 2 * radius + 1)
    m_g, m_p, m_gp, m_gg = means[:, :1], means[:, 1:4], means[:, 4:7], means[:, 7:]
    a = box_mean((m_gp - m_g * m_p) / (m_gg - m_g * m_g + eps), 2 * radius + 1)  # averaged over the windows covering a pixel
    # One bilinear call for A and the small luma (both smooth at the full size's scale).
    dt = full_in.dtype
    up = resize(torch.cat([a, g], 1).to(dt), size, mode="bilinear")
    base = resize(low_out, size, mode="bicubic")
    out = base + up[:, :3] * (luma(full_in) - up[:, 3:])
    if sharpen > 0.0:  # unsharp mask (RenderScale.sharpen says why)
        out = out.float()
        out = out + sharpen * (out - gaussian_blur(out, 1.0))
    return out.clamp_(0.0, 1.0).to(low_out.dtype)


def render_scaled(stylizer, frames: Tensor, render: RenderScale) -> Tensor:
    """``stylizer`` (any ``(N,3,h,w) -> (N,3,h,w)``) run at ``render``'s size and guided-upsampled
    back to the frames' size; plain ``stylizer(frames)`` at scale 1."""
    h, w = frames.shape[-2:]
    size = render.size(h, w)
    if size == (h, w):
        return stylizer(frames)
    small = downscale(frames, size)
    return guided_upsample(stylizer(small), small, frames, radius=render.radius, eps=render.eps, sharpen=render.sharpen)
