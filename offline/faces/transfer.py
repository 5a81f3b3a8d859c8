"""Local energy transfer on a Laplacian stack (Shih, Paris, Barnes, Freeman & Durand 2014).

Each band of the input is rescaled so that its local energy (Gaussian-averaged squared band)
matches the example's; the example provides the low-frequency residual. Gains are clamped
(Shih 2014 sec. 3.3) so noise is not amplified without bound.
"""
from __future__ import annotations

import cv2
import numpy as np


def _blur(img: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def laplacian_stack(img: np.ndarray, levels: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Bands L_l = G_{2^l} * I - G_{2^{l+1}} * I (L_0 uses I itself) and the residual."""
    bands = []
    prev = img
    for lv in range(levels):
        nxt = _blur(img, 2.0 ** (lv + 1))
        bands.append(prev - nxt)
        prev = nxt
    return bands, prev


def energy_transfer(inp: np.ndarray, example: np.ndarray, *, levels: int, gain_min: float,
                    gain_max: float, eps: float = 1e-4) -> np.ndarray:
    """HxWxC float images in [0,1] (same size) -> ``inp`` with ``example``'s local band energies."""
    if inp.shape != example.shape:
        raise ValueError(f"example: expected shape {inp.shape}, got {example.shape}")
    bi, _ = laplacian_stack(inp, levels)
    be, res = laplacian_stack(example, levels)
    out = res.copy()
    for lv, (li, le) in enumerate(zip(bi, be)):
        sigma = 2.0 ** (lv + 1)
        gain = np.sqrt(_blur(le * le, sigma) / (_blur(li * li, sigma) + eps))
        out += li * np.clip(gain, gain_min, gain_max)
    return out


def energy_transfer_luma(inp: np.ndarray, example: np.ndarray, *, levels: int, gain_min: float,
                         gain_max: float) -> np.ndarray:
    """Energy transfer of luminance; chrominance comes from the example (HxWx3 RGB in [0,1]).

    Shih et al. process every Lab channel, which keeps the input's colour detail where the
    example has none (a grey sketch would come out tinted); taking the example's chroma makes
    the palette follow the exemplars, as a painted or drawn style should.
    """
    yi = cv2.cvtColor(inp.astype(np.float32), cv2.COLOR_RGB2YCrCb)
    ye = cv2.cvtColor(example.astype(np.float32), cv2.COLOR_RGB2YCrCb)
    y = energy_transfer(np.ascontiguousarray(yi[..., 0]), np.ascontiguousarray(ye[..., 0]), levels=levels, gain_min=gain_min, gain_max=gain_max)
    out = ye.copy()
    out[..., 0] = y
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2RGB)
