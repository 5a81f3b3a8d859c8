"""All parameters of the face stylizer, with documented defaults (frozen dataclass)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaceStyleConfig:
    # Working crop: each face is processed in a crop around its landmarks, resized to this height
    # (exemplars are warped into the same crop). 250 matches the CUHK exemplars' native height.
    work_height: int = 250
    # Crop margins as fractions of the landmark box (top is larger: landmarks stop at the brows).
    margin_side: float = 0.35
    margin_top: float = 0.6
    margin_bottom: float = 0.25
    # Patches of the MRF (pixels in the working crop); neighbours overlap by patch - stride.
    patch: int = 20
    stride: int = 10
    # Data term: photo-to-photo luminance SSD when exemplar photos exist, else input luminance vs
    # exemplar style luminance; plus this weight times the gradient SSD (structure, Song et al. 3.2).
    grad_weight: float = 1.0
    # Smoothness term weight: SSD of the two candidate exemplars in the patch overlap.
    smooth_weight: float = 1.0
    bp_iterations: int = 30
    bp_damping: float = 0.5
    # "patch": paste the chosen aligned exemplar patches (Wang & Tang 2009 style synthesis);
    # "energy": Shih et al. 2014 local energy transfer of the chosen exemplars onto the input.
    transfer: str = "energy"
    # Laplacian stack for "energy": levels, and the gain clamp [gain_min, gain_max] (Shih 2014 sec 3.3).
    levels: int = 5
    gain_min: float = 0.9
    gain_max: float = 2.8
    # Seam removal: guided filter (He et al. 2013) guided by the input, applied in a band of this
    # half-width around label boundaries.
    seam_radius: int = 6
    seam_eps: float = 1e-3
    seam_band: int = 6
    # Soft compositing mask: feather (Gaussian sigma, as a fraction of face width).
    feather: float = 0.06
    # What surrounds the stylized face: "look" gives the whole frame the exemplars' global tone,
    # colour and stroke energy (offline.faces.harmonize) so the face is not a cut-out on the
    # colour photo; "photo" leaves the rest of the frame untouched (the face alone is stylized).
    surround: str = "look"
    # Video: exponential smoothing of landmarks (0 = no smoothing), temporal MRF bonus for keeping
    # the previous frame's label, and flow-based blend strength with the previous output.
    landmark_smoothing: float = 0.6
    label_stickiness: float = 0.3
    temporal_strength: float = 0.6
    # Face detector upsampling (dlib HOG: 1 finds faces down to ~40 px).
    detect_upsample: int = 1
    # Minimum dlib HOG detection score. 0.3 drops weak false positives (the astronaut photo's
    # mission patch scores 0.12; the 14 real faces of the shared data score 1.16 to 2.95).
    detect_threshold: float = 0.3

    def __post_init__(self) -> None:
        if self.surround not in ("look", "photo"):
            raise ValueError(f"surround: expected 'look' or 'photo', got {self.surround!r}")
        if self.transfer not in ("patch", "energy"):
            raise ValueError(f"transfer: expected 'patch' or 'energy', got {self.transfer!r}")
        if not 0 < self.stride <= self.patch:
            raise ValueError(f"stride: expected 0 < stride <= patch ({self.patch}), got {self.stride}")
        if self.work_height < 4 * self.patch:
            raise ValueError(f"work_height: expected >= 4*patch ({4 * self.patch}), got {self.work_height}")
        for name in ("landmark_smoothing", "temporal_strength", "bp_damping"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1), got {v}")
