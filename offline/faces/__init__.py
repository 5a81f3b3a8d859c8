"""Face stylization from multiple exemplars (Song, Bao, He, Yang & Yang, CVIU 2017).

Pipeline per face: landmarks -> align every exemplar by a piecewise-affine warp -> choose one
exemplar per overlapping patch with an MRF (loopy min-sum belief propagation) -> transfer the style
(Shih et al. 2014 local energy transfer, or patch synthesis) -> remove seams with a guided filter
steered by the input -> composite back with a soft mask. See docs/faces.md.

Names are imported lazily so that `stylecast --help` (which reads only the config) stays fast.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FaceStyleConfig": "offline.faces.config",
    "Exemplar": "offline.faces.exemplars",
    "ExemplarSet": "offline.faces.exemplars",
    "load_exemplars": "offline.faces.exemplars",
    "FaceResult": "offline.faces.stylize",
    "FaceStylizer": "offline.faces.stylize",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'offline.faces' has no attribute {name!r}")
