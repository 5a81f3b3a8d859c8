"""The exemplars' look over the whole image, so a stylized face does not look pasted on.

Song et al. stylize the face only; composited onto the untouched colour photo, a grey pencil
face reads as a cut-out. Here the whole frame first takes the exemplars' *global* look, learnt
from the exemplar pairs themselves (photo -> styled), and the stylized face is then feathered
onto that:

* tone and colour (Reinhard, Ashikhmin, Gooch & Shirley 2001, in CIE Lab): each channel's mean
  and spread change as they do from exemplar photo to exemplar style (averaged over the
  exemplars, see GlobalLook), so a pencil set greys and lightens the frame, a painted set moves
  it toward the painting's palette; without exemplar photos the channels are matched to the
  styled exemplars' statistics directly;
* texture (global version of Shih et al. 2014's energy transfer): each Laplacian band of the
  luminance is scaled by the exemplars' styled/photo band-energy ratio (pencil strokes raise
  the fine bands, flat paint lowers them), at the face's working scale so a 4K frame gets the
  same strokes per face as the exemplars have.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from offline.faces.exemplars import ExemplarSet

_GAIN_RANGE = (0.5, 3.0)  # band gains beyond this amplify noise or erase structure


@dataclass(frozen=True)
class GlobalLook:
    """How the exemplars' style changes a photo, per Lab channel: with exemplar photos, a frame
    whose mean is ``photo_mean + d`` gets the mean ``styled_mean + scale * d`` and its spread times
    ``scale`` (a grey pencil set has chroma scale ~0: any frame ends on the paper's neutral
    tone, not tinted by how its colours differ from the exemplar photos'); without photos, the
    styled exemplars' mean and ``styled_std``. Plus luminance band gains."""

    styled_mean: np.ndarray  # (3,) Lab mean of the styled exemplars
    photo_mean: np.ndarray | None  # (3,) Lab mean of their photos (None: no photos)
    scale: np.ndarray | None  # (3,) styled / photo spread
    styled_std: np.ndarray | None  # (3,) used without photos
    band_gains: tuple[float, ...]  # per Laplacian level of L, at the exemplars' scale


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.clip(rgb, 0, 1).astype(np.float32), cv2.COLOR_RGB2LAB)


def _bands(lum: np.ndarray, levels: int, unit: float) -> tuple[list[np.ndarray], np.ndarray]:
    """Laplacian stack with Gaussian sigmas ``unit * 2**(l+1)`` (unit = image px per exemplar px)."""
    bands, prev = [], lum
    for lv in range(levels):
        nxt = cv2.GaussianBlur(lum, (0, 0), sigmaX=unit * 2.0 ** (lv + 1), borderType=cv2.BORDER_REFLECT)
        bands.append(prev - nxt)
        prev = nxt
    return bands, prev


def exemplar_look(exemplars: ExemplarSet, *, levels: int = 5) -> GlobalLook:
    """The global look of ``exemplars`` (whole images, not just faces: their paper, their paint)."""
    styled = [_lab(e.styled).reshape(-1, 3) for e in exemplars.items]
    s_mean = np.mean([s.mean(0) for s in styled], axis=0)
    s_std = np.mean([s.std(0) for s in styled], axis=0)
    if not exemplars.has_photos:
        return GlobalLook(s_mean, None, None, s_std, (1.0,) * levels)
    photos = [_lab(e.photo).reshape(-1, 3) for e in exemplars.items]  # type: ignore[arg-type]
    p_mean = np.mean([p.mean(0) for p in photos], axis=0)
    scale = s_std / np.maximum(np.mean([p.std(0) for p in photos], axis=0), 1e-3)
    logs = np.zeros(levels)
    for e in exemplars.items:
        bs, _ = _bands(np.ascontiguousarray(_lab(e.styled)[..., 0]), levels, 1.0)
        bp, _ = _bands(np.ascontiguousarray(_lab(e.photo)[..., 0]), levels, 1.0)  # type: ignore[arg-type]
        logs += [0.5 * np.log((float(np.mean(s * s)) + 1e-6) / (float(np.mean(p * p)) + 1e-6)) for s, p in zip(bs, bp)]
    gains = np.clip(np.exp(logs / len(exemplars.items)), *_GAIN_RANGE)
    return GlobalLook(s_mean, p_mean, scale, None, tuple(float(g) for g in gains))


def apply_look(image: np.ndarray, look: GlobalLook, *, unit: float = 1.0) -> np.ndarray:
    """HxWx3 float32 RGB [0,1] -> the same image in ``look``; ``unit`` = image px per exemplar px
    (the inverse of the face crop's scale), so texture bands match the exemplars' stroke size."""
    lab = _lab(image)
    flat = lab.reshape(-1, 3)
    mean, std = flat.mean(0), flat.std(0)
    if look.photo_mean is None or look.scale is None:
        new_mean, new_std = look.styled_mean, look.styled_std
    else:
        new_mean, new_std = look.styled_mean + look.scale * (mean - look.photo_mean), std * look.scale
    out = (lab - mean) * (new_std / np.maximum(std, 1e-3)) + new_mean
    if any(abs(g - 1.0) > 1e-3 for g in look.band_gains):
        bands, res = _bands(np.ascontiguousarray(out[..., 0]), len(look.band_gains), max(unit, 0.25))
        out[..., 0] = res + sum(b * g for b, g in zip(bands, look.band_gains))
    out[..., 0] = np.clip(out[..., 0], 0, 100)
    return np.clip(cv2.cvtColor(out.astype(np.float32), cv2.COLOR_LAB2RGB), 0, 1)
