"""FaceStylizer: the multi-exemplar face stylization of Song et al. (CVIU 2017), per face.

Steps for one face (all in a working crop levelled on the eyes): align exemplars by landmarks,
pick an exemplar per patch with an MRF, synthesize/transfer, remove seams, composite.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np
import torch
from torch import Tensor

from models.contracts import check_frames
from offline.faces import mrf
from offline.faces.align import apply_affine, crop_transform, piecewise_affine_maps, warp_to
from offline.faces.config import FaceStyleConfig
from offline.faces.exemplars import ExemplarSet
from offline.faces.landmarks import Face
from offline.faces.patches import (PatchGrid, data_costs, label_weights, smoothness_costs,
                                   standardize, synthesize)
from offline.faces.seams import remove_seams, seam_band
from offline.faces.transfer import energy_transfer_luma


@dataclass(frozen=True)
class FaceResult:
    image: np.ndarray  # HxWx3 float32 [0,1], the stylized working frame
    labels: np.ndarray  # (GH,GW) exemplar index per patch
    weights: np.ndarray  # (K,H,W) per-pixel exemplar weights
    mask: np.ndarray  # HxW float32 soft face mask


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY)


def face_mask(landmarks: np.ndarray, hw: tuple[int, int], *, feather: float) -> np.ndarray:
    """Soft mask: hull of the jaw line and the brows raised towards the hairline, feathered."""
    lm = np.asarray(landmarks, np.float64)
    if len(lm) == 68:
        brows = lm[17:27].copy()
        lift = 0.35 * (lm[8, 1] - brows[:, 1].mean())
        brows[:, 1] -= lift
        pts = np.vstack([lm[0:17], brows])
    else:
        pts = lm
    m = np.zeros(hw, np.float32)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(pts * 16).astype(np.int32)), 1.0, shift=4)
    width = float(np.ptp(pts[:, 0]))
    sigma = max(feather * width, 0.5)
    # Erode by ~sigma first so the feather stays inside the hull (no halo of background).
    k = int(round(sigma))
    if k > 0:
        m = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return cv2.GaussianBlur(m, (0, 0), sigmaX=sigma)


class FaceStylizer:
    """Stylize faces with an exemplar set; ``detector`` finds faces in uint8 RGB images."""

    def __init__(self, exemplars: ExemplarSet, *, config: FaceStyleConfig | None = None,
                 detector: Callable[[np.ndarray], list[Face]] | None = None) -> None:
        if not exemplars.items:
            raise ValueError("exemplars: expected at least one exemplar, got none")
        self.exemplars = exemplars
        self.config = config or FaceStyleConfig()
        self.detector = detector
        self._look = None  # offline.faces.harmonize.GlobalLook, computed on first use

    # -- one aligned face -------------------------------------------------------------------
    def align(self, landmarks: np.ndarray, hw: tuple[int, int]) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Every exemplar (styled, photo) warped onto ``landmarks`` in an ``hw`` frame."""
        styled, photos = [], []
        for ex in self.exemplars.items:
            maps = piecewise_affine_maps(ex.landmarks, landmarks, hw)
            styled.append(warp_to(ex.styled, maps))
            photos.append(None if ex.photo is None else warp_to(ex.photo, maps))
        return styled, photos

    def stylize_aligned(self, image: np.ndarray, landmarks: np.ndarray, *,
                        prev_labels: np.ndarray | None = None) -> FaceResult:
        """``image`` HxWx3 float32 [0,1] is the working frame itself (no crop)."""
        cfg = self.config
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image: expected HxWx3, got {image.shape}")
        hw = image.shape[:2]
        styled, photos = self.align(landmarks, hw)
        target = gray(image)
        mask = face_mask(landmarks, hw, feather=cfg.feather)
        if self.exemplars.has_photos:  # photo-to-photo data term
            cands = [standardize(gray(p), target) for p in photos]
        else:  # cross-domain: luminance and gradients of the stylized exemplars
            cands = [standardize(gray(s), target) for s in styled]
        grid = PatchGrid.cover(hw[0], hw[1], patch=cfg.patch, stride=cfg.stride)
        unary = data_costs(grid, target, cands, grad_weight=cfg.grad_weight)
        pair_h, pair_v = smoothness_costs(grid, [gray(s) for s in styled], weight=cfg.smooth_weight)
        if prev_labels is not None and prev_labels.shape == unary.shape[:2] and cfg.label_stickiness > 0:
            # Temporal term: switching exemplars between frames costs a fraction of a typical
            # data cost, which removes label flicker in video.
            bonus = cfg.label_stickiness * float(np.median(unary))
            ii, jj = np.mgrid[0:unary.shape[0], 0:unary.shape[1]]
            unary = unary.copy()
            unary[ii, jj, prev_labels] -= bonus
        labels = mrf.solve(unary, pair_h, pair_v, iterations=cfg.bp_iterations, damping=cfg.bp_damping)
        weights = label_weights(grid, labels, len(styled), hw)
        out = synthesize(weights, styled)
        if cfg.transfer == "energy":
            out = energy_transfer_luma(image.astype(np.float32), out, levels=cfg.levels,
                                  gain_min=cfg.gain_min, gain_max=cfg.gain_max)
        if len(styled) > 1 and cfg.seam_band > 0:
            out = remove_seams(out, target, seam_band(weights, width=cfg.seam_band),
                               radius=cfg.seam_radius, eps=cfg.seam_eps)
        return FaceResult(np.clip(out, 0.0, 1.0).astype(np.float32), labels, weights, mask)

    # -- faces in a full image --------------------------------------------------------------
    def crop_matrix(self, landmarks: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
        cfg = self.config
        h = cfg.work_height
        w = int(round(h * 0.8))
        m = crop_transform(landmarks, height=h, width=w, margin_side=cfg.margin_side,
                           margin_top=cfg.margin_top, margin_bottom=cfg.margin_bottom)
        return m, (h, w)

    def stylize_face(self, image: np.ndarray, landmarks: np.ndarray, *,
                     prev_labels: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, FaceResult]:
        """Stylize one face of ``image`` (HxWx3 float32); returns (stylized full frame, mask, result)."""
        m, (h, w) = self.crop_matrix(landmarks)
        crop = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        res = self.stylize_aligned(crop, apply_affine(m, landmarks), prev_labels=prev_labels)
        ih, iw = image.shape[:2]
        back = cv2.warpAffine(res.image, m, (iw, ih), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        mask = cv2.warpAffine(res.mask, m, (iw, ih), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return back, mask, res

    def surround(self, image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        """The whole frame (HxWx3 float32) in the exemplars' global look, at the faces' scale."""
        from offline.faces.harmonize import apply_look, exemplar_look

        if self._look is None:
            self._look = exemplar_look(self.exemplars, levels=self.config.levels)
        # image px per working-crop px (the crop matches the exemplars' scale): mean over faces
        unit = float(np.mean([1.0 / np.sqrt(abs(np.linalg.det(self.crop_matrix(lm)[0][:, :2]))) for lm in landmarks]))
        return apply_look(image, self._look, unit=unit)

    def stylize_image(self, image: np.ndarray, faces: list[Face] | None = None
                      ) -> tuple[np.ndarray, list[Face]]:
        """``image`` HxWx3 uint8 RGB -> (stylized uint8, faces used). No face: a copy of the input."""
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"image: expected HxWx3 uint8 RGB, got {image.shape} {image.dtype}")
        if faces is None:
            if self.detector is None:
                raise ValueError("faces: no detector was given, pass the faces explicitly")
            faces = self.detector(image)
        out = image.astype(np.float32) / 255.0
        if faces and self.config.surround == "look":
            out = self.surround(out, [f.landmarks for f in faces])
        for face in faces:
            styl, mask, _ = self.stylize_face(out if self.config.surround == "photo" else image.astype(np.float32) / 255.0,
                                              face.landmarks)
            out = out * (1.0 - mask[..., None]) + styl * mask[..., None]
        return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8), list(faces)

    def __call__(self, frames: Tensor) -> Tensor:
        """Stylizer contract: (N,3,H,W) RGB [0,1] -> same; frames without faces pass through."""
        check_frames(frames)
        outs = []
        for f in frames:
            u8 = (f.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
            o, _ = self.stylize_image(u8)
            outs.append(torch.from_numpy(o.astype(np.float32) / 255.0).permute(2, 0, 1))
        return torch.stack(outs).to(device=frames.device, dtype=frames.dtype)
