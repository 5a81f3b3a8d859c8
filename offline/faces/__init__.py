"""Face stylization from multiple exemplars (Song, Bao, He, Yang & Yang, CVIU 2017).

Pipeline per face: landmarks -> align every exemplar by a piecewise-affine warp -> choose one
exemplar per overlapping patch with an MRF (loopy min-sum belief propagation) -> transfer the style
(patch synthesis or Shih et al. 2014 local energy transfer) -> remove seams with a guided filter
steered by the input -> composite back with a soft mask. See docs/faces.md.
"""
from offline.faces.config import FaceStyleConfig
from offline.faces.exemplars import Exemplar, ExemplarSet, load_exemplars
from offline.faces.stylize import FaceResult, FaceStylizer

__all__ = [
    "FaceStyleConfig", "Exemplar", "ExemplarSet", "load_exemplars", "FaceResult", "FaceStylizer",
]
