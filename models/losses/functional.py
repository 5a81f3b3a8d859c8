"""Perceptual losses as pure functions (Gatys et al. 2016; Johnson et al. 2016).

Weight conventions (documented once, used everywhere):
- Features are compared on whatever scale the loss network produces; the loss network itself
  normalises its input (see :mod:`models.losses.networks`), so callers pass RGB in [0,1].
- ``gram`` is normalised by ``C*H*W`` (Johnson et al.), making the style loss independent of
  image size; ``style_loss`` averages squared Gram differences (MSE) over C*C entries and sums
  the per-layer terms with the given layer weights (default 1 each).
- ``content_loss`` is the feature MSE (mean over N*C*H*W).
- ``tv_loss`` is the mean absolute difference of neighbouring pixels (anisotropic L1 TV), so it
  too is resolution independent.
Typical training weights with these conventions: content 1, style 1e5..1e6 (VGG) and
tv 1e-6..1e-5 on a 0..1 scale; see :mod:`models.training.loop` for the defaults actually used.
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor


def gram(features: Tensor) -> Tensor:
    """``(N,C,H,W)`` -> ``(N,C,C)`` Gram matrix normalised by C*H*W (computed in float32)."""
    if features.ndim != 4:
        raise ValueError(f"gram: expected (N,C,H,W) features, got {tuple(features.shape)}")
    n, c, h, w = features.shape
    if c > 1 and features.is_contiguous(memory_format=torch.channels_last):
        # NHWC features: (N,HW,C) is a free view; the (N,C,HW) one would copy the whole map.
        f = features.float().permute(0, 2, 3, 1).reshape(n, h * w, c)
        return torch.bmm(f.transpose(1, 2), f) / (c * h * w)
    f = features.float().reshape(n, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


def content_loss(features: Tensor, target: Tensor) -> Tensor:
    """Feature MSE; ``target`` is detached by the caller when it is a constant."""
    if features.shape != target.shape:
        raise ValueError(f"content_loss: shapes differ, {tuple(features.shape)} vs {tuple(target.shape)}")
    return torch.mean((features.float() - target.float()) ** 2)


def style_loss(
    features: Mapping[str, Tensor],
    target_grams: Mapping[str, Tensor],
    weights: Mapping[str, float] | None = None,
) -> Tensor:
    """Sum over layers of ``weight * mean((gram(f) - G_target)^2)``.

    ``target_grams[layer]`` is ``(1,C,C)`` (broadcast over the batch) or ``(N,C,C)``.
    """
    total: Tensor | None = None
    for name, g_t in target_grams.items():
        if name not in features:
            raise KeyError(f"style_loss: no features for layer {name!r}; have {sorted(features)}")
        g = gram(features[name])
        term = torch.mean((g - g_t.float().expand_as(g)) ** 2)
        w = 1.0 if weights is None else float(weights.get(name, 1.0))
        total = term * w if total is None else total + term * w
    if total is None:
        raise ValueError("style_loss: no style layers given")
    return total


def tv_loss(images: Tensor) -> Tensor:
    """Anisotropic total variation: mean |x[i+1]-x[i]| over both axes."""
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean()
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean()
    return dx + dy
