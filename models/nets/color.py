"""Colour preservation: keep the photo's colours, take only the luminance from the style network.

Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color in Neural Artistic Style
Transfer", section 3 ("luminance-only transfer"): in YIQ, the Y channel of the stylized image
carries the strokes and textures, the I/Q (chroma) channels of the *content* image carry its
colours. Applied after a feed-forward network it costs two 3x3 colour matrices per pixel.

Why stylecast uses it: a network trained on a mostly grey painting (Picabia's *Udnie*) with a
VGG19 Gram loss renders photos grey; the same network with the photo's chroma keeps the red
bridge and blue sky, is closer to the painting's VGG19 statistics than a network trained to
keep colours through its loss (docs/bench/training.md), and looks like the published
Udnie networks. A style checkpoint can ask for it (``"preserve_color"`` in its metadata,
:mod:`models.styles.registry`), and ``--preserve-color`` overrides it for any style.

Contracts: frames ``(N,3,H,W)`` RGB in [0,1], any float dtype; outputs have the stylized
frame's dtype and device and are clamped to [0,1]. Nothing is modified in place.
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.contracts import check_frames

# NTSC YIQ (FCC 1953 coefficients), as in Gatys et al. 2016.
_RGB_TO_YIQ = ((0.299, 0.587, 0.114),
               (0.595716, -0.274453, -0.321263),
               (0.211456, -0.522591, 0.311135))


def yiq_matrices(*, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """New ``(rgb->yiq, yiq->rgb)`` 3x3 matrices on ``device``/``dtype`` (inverse taken in float64)."""
    m = torch.tensor(_RGB_TO_YIQ, dtype=torch.float64)
    return m.to(device=device, dtype=dtype), torch.linalg.inv(m).to(device=device, dtype=dtype)


@functools.lru_cache(maxsize=16)
def _cached(device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    # made once per device/dtype: no host-to-device copy per frame (read-only to every caller)
    return yiq_matrices(device=device, dtype=dtype)


def _apply(m: Tensor, x: Tensor) -> Tensor:
    # A 1x1 convolution rather than einsum: with einsum the ONNX export of a wrapped style came out
    # with its batch pinned to 1 (tests/nets/test_color.py); conv2d keeps every dimension symbolic.
    return F.conv2d(x, m.to(x.dtype)[:, :, None, None])


def rgb_to_yiq(x: Tensor) -> Tensor:
    """``(N,3,H,W)`` RGB -> YIQ: Y in [0,1], I in about [-0.596,0.596], Q in about [-0.523,0.523]."""
    check_frames(x, "rgb")
    return _apply(_cached(x.device, x.dtype)[0], x)


def yiq_to_rgb(x: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_yiq` (not clamped: YIQ triples outside the RGB cube map outside [0,1])."""
    check_frames(x, "yiq")
    return _apply(_cached(x.device, x.dtype)[1], x)


def _transfer(stylized: Tensor, content: Tensor, amount: float, fwd: Tensor, inv: Tensor) -> Tensor:
    """The unchecked core (traceable by torch.compile / torch.export: no caches, no Python state)."""
    s = _apply(fwd, stylized)
    c = _apply(fwd, content.to(stylized.dtype))
    chroma = c[:, 1:] if amount == 1.0 else torch.lerp(s[:, 1:], c[:, 1:], amount)
    y = s[:, :1].expand(chroma.shape[0], 1, *s.shape[-2:])
    return _apply(inv, torch.cat([y, chroma], dim=1)).clamp(0, 1)


def preserve_color(stylized: Tensor, content: Tensor, *, amount: float = 1.0) -> Tensor:
    """``stylized``'s luminance with ``content``'s chroma (``amount`` 1), its own chroma (0), or between.

    ``content`` may differ in dtype (it is cast); N must match or broadcast (1), H and W must match.
    """
    check_frames(stylized, "stylized")
    check_frames(content, "content", like=stylized)
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"amount: expected a value in [0, 1], got {amount}")
    if amount == 0.0:
        return stylized.clamp(0, 1)
    return _transfer(stylized, content, amount, *_cached(stylized.device, stylized.dtype))


class ColorPreserving(nn.Module):
    """A stylizer whose output keeps its input's colours: ``preserve_color(inner(x), x, amount=amount)``.

    ``inner`` is any stylizer (a ``Callable[[Tensor], Tensor]``; an ``nn.Module`` is registered
    as a submodule so ``.to()``/``.half()`` and backends reach its weights). Attributes the
    wrapper lacks (``set_mix``, ``mix_dict``, ``style_names``, ``config``...) are the inner
    stylizer's, so a wrapped multi-style blend still switches live.
    """

    def __init__(self, inner: Callable[[Tensor], Tensor], *, amount: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < amount <= 1.0:
            raise ValueError(f"amount: expected a value in (0, 1], got {amount}")
        self.inner = inner
        self.amount = float(amount)
        # Buffers, not a cache: they follow .to()/.half() and are graph inputs under torch.compile
        # and torch.export (non-persistent: the state dict stays the network's).
        fwd, inv = yiq_matrices()
        self.register_buffer("rgb_to_yiq", fwd, persistent=False)
        self.register_buffer("yiq_to_rgb", inv, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return _transfer(self.inner(x), x, self.amount, self.rgb_to_yiq, self.yiq_to_rgb)

    def __getattr__(self, name: str):  # noqa: ANN204 - forwards whatever the inner stylizer has
        try:
            return super().__getattr__(name)
        except AttributeError:
            mods = self.__dict__.get("_modules", {})
            inner = mods["inner"] if "inner" in mods else self.__dict__.get("inner")
            if inner is None or name == "inner":
                raise
            return getattr(inner, name)

    def extra_repr(self) -> str:
        return f"amount={self.amount}"

