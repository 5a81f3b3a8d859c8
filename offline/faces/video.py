"""Temporally stable face stylization for video.

Three mechanisms (Song et al. do single images; video stability is our addition):
1. landmark tracks: each detected face is matched to the nearest track and its landmarks are
   exponentially smoothed, which removes detector jitter (reset on large motion, so no lag);
2. label stickiness: the MRF keeps the previous frame's exemplar choice unless the data cost
   clearly prefers another (see FaceStyleConfig.label_stickiness);
3. flow blending: inside the face mask, the previous output warped by optical flow is blended
   with the fresh result where the flow is reliable (Ruder et al. 2016 consistency weights).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from models.flow.consistency import consistency_weights
from models.flow.estimators import FlowEstimator
from models.flow.warp import blend, warp
from offline.faces.landmarks import Face
from offline.faces.stylize import FaceStylizer


@dataclass
class _Track:
    landmarks: np.ndarray
    labels: np.ndarray | None = None
    missed: int = 0


@dataclass
class VideoFaceStylizer:
    """One instance per video stream (it keeps per-stream state)."""

    stylizer: FaceStylizer
    flow: FlowEstimator | None = None
    tracks: list[_Track] = field(default_factory=list)
    _prev_in: torch.Tensor | None = None
    _prev_out: torch.Tensor | None = None
    _look_landmarks: list[np.ndarray] = field(default_factory=list)  # faces whose scale the surround look uses

    def reset(self) -> None:
        self.tracks = []
        self._prev_in = self._prev_out = None
        self._look_landmarks = []

    def _track(self, faces: list[Face]) -> list[_Track]:
        s = self.stylizer.config.landmark_smoothing
        used: set[int] = set()
        out = []
        for face in faces:
            lm = face.landmarks
            width = max(float(np.ptp(lm[:, 0])), 1.0)
            best, dist = None, np.inf
            for i, t in enumerate(self.tracks):
                d = float(np.linalg.norm(t.landmarks.mean(0) - lm.mean(0)))
                if i not in used and d < dist:
                    best, dist = i, d
            if best is not None and dist < 0.5 * width:
                used.add(best)
                t = self.tracks[best]
                motion = float(np.linalg.norm(t.landmarks - lm, axis=1).mean())
                # Smooth jitter (small motion); follow real motion at once (no trailing mask).
                k = s if motion < 0.05 * width else 0.0
                t.landmarks = k * t.landmarks + (1.0 - k) * lm
                t.missed = 0
                out.append(t)
            else:
                out.append(_Track(lm.copy()))
        for i, t in enumerate(self.tracks):  # keep lost tracks a few frames (detector misses)
            if i not in used and t.missed < 5:
                t.missed += 1
                out.append(t)
        self.tracks = out
        return [t for t in out if t.missed == 0]

    def __call__(self, frame: np.ndarray) -> tuple[np.ndarray, int]:
        """HxWx3 uint8 RGB frame -> (output uint8, number of faces). No face yet: the frame itself
        (with ``surround="look"``, once a face was seen, the frame in the exemplars' look)."""
        det = self.stylizer.detector
        if det is None:
            raise ValueError("VideoFaceStylizer: the FaceStylizer needs a detector for video")
        active = self._track(det(frame))
        img = frame.astype(np.float32) / 255.0
        union = np.zeros(frame.shape[:2], np.float32)
        out = img
        if self.stylizer.config.surround == "look":
            # Every frame gets the exemplars' look (also frames where the face is briefly lost:
            # a colour frame flashing between sketch frames would be worse than a re-toned one),
            # at the scale of the faces seen last.
            if active:
                self._look_landmarks = [t.landmarks for t in active]
            if self._look_landmarks:
                out = self.stylizer.surround(img, self._look_landmarks)
        for t in active:
            styl, mask, res = self.stylizer.stylize_face(img, t.landmarks, prev_labels=t.labels)
            t.labels = res.labels
            out = out * (1.0 - mask[..., None]) + styl * mask[..., None]
            union = np.maximum(union, mask)
        cur_in = torch.from_numpy(img).permute(2, 0, 1)[None]
        fresh = torch.from_numpy(np.ascontiguousarray(out, np.float32)).permute(2, 0, 1)[None]
        strength = self.stylizer.config.temporal_strength
        if (self.flow is not None and active and self._prev_in is not None and strength > 0
                and self._prev_in.shape == cur_in.shape):
            # Flow only on the faces' bounding box (plus a margin for the motion): outside the
            # mask the blend weight is 0 anyway, and flow cost grows with the area.
            ys, xs = np.nonzero(union > 1e-3)
            pad = 24
            y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, union.shape[0])
            x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, union.shape[1])
            win = (slice(None), slice(None), slice(y0, y1), slice(x0, x1))
            cur_c, prev_c = cur_in[win].contiguous(), self._prev_in[win].contiguous()
            fb = self.flow(cur_c, prev_c)
            ff = self.flow(prev_c, cur_c)
            conf = consistency_weights(fb, ff) * torch.from_numpy(union[y0:y1, x0:x1].copy())[None, None]
            fresh = fresh.clone()
            fresh[win] = blend(fresh[win], warp(self._prev_out[win].contiguous(), fb), conf, strength=strength)
        self._prev_in, self._prev_out = cur_in, fresh
        u8 = (fresh[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
        return u8, len(active)
