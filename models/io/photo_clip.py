"""The demo clip: a slow camera move (pan and zoom, "Ken Burns") over real photographs.

The synthetic sample (:mod:`models.io.sample`) has exact optical flow for tests, but a network
trained on photographs turns its sinusoid textures into mud. The demo instead films the four
public-domain / CC0 photographs shipped in ``models/io/demo_photos/`` (sources and licences in the
README.md there), one after the other with a hard cut between them (the temporal blender's scene
cut detection starts each shot fresh, as on real footage). The camera pans about a pixel per
frame (at 320 px wide) and zooms 0.3-0.4 % per frame: a steady camera, what the live pipeline
is built for.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from models.errors import UserError

PHOTOS_DIR = Path(__file__).parent / "demo_photos"


@dataclass(frozen=True)
class Shot:
    """One photo and its camera move. ``zoom`` 1 = the whole photo cropped to the frame's aspect;
    ``start`` places the first window in the leftover margin (-1 = left/top, 1 = right/bottom);
    the camera then pans ``pan`` output pixels per frame (at 320 px wide, scaled with the width)
    and zooms in by ``zoom_rate`` per frame, staying inside the photo."""

    photo: str
    zoom: float
    start: tuple[float, float]
    pan: tuple[float, float]
    zoom_rate: float = 1.003


# Speeds, not end points, so a shot moves the same however many frames it gets: about a pixel a
# frame, a steady camera. Directions toward the subject (the astronaut's face, across the cat's
# eyes, into the cup, up the rocket).
SHOTS = (
    Shot("astronaut.jpg", 1.2, (0.3, -0.5), (-0.6, -0.4)),
    Shot("chelsea.jpg", 1.05, (-0.8, 0.0), (1.0, -0.2)),
    Shot("coffee.jpg", 1.05, (0.0, 0.3), (0.0, -0.6), 1.004),
    Shot("rocket.jpg", 1.2, (0.0, 0.8), (0.0, -1.0)),
)


@lru_cache(maxsize=8)
def _photo(name: str) -> np.ndarray:
    path = PHOTOS_DIR / name
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"demo photo missing: expected {path} (package data of stylecast; reinstall it)")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    img.setflags(write=False)
    return img


def _shot_frames(shot: Shot, n: int, size: tuple[int, int]) -> list[np.ndarray]:
    h, w = size
    img = _photo(shot.photo)
    ph, pw = img.shape[:2]
    cover = max(w / pw, h / ph)  # output px per photo px at zoom 1
    # Pre-shrink (area filter) so the per-frame warp only ever enlarges: no aliasing shimmer.
    pre = min(1.0, cover * shot.zoom)
    if pre < 1.0:
        img = cv2.resize(img, (max(1, round(pw * pre)), max(1, round(ph * pre))), interpolation=cv2.INTER_AREA)
        ph, pw = img.shape[:2]
        cover = max(w / pw, h / ph)
    speed = w / 320.0
    frames = []
    cx = cy = 0.0
    for i in range(n):
        scale = cover * shot.zoom * shot.zoom_rate ** i
        win_w, win_h = w / scale, h / scale
        if i == 0:
            cx = pw / 2 + shot.start[0] * (pw - win_w) / 2
            cy = ph / 2 + shot.start[1] * (ph - win_h) / 2
        else:
            cx += shot.pan[0] * speed / scale
            cy += shot.pan[1] * speed / scale
        cx = min(max(cx, win_w / 2), pw - win_w / 2)  # the window stays inside the photo
        cy = min(max(cy, win_h / 2), ph - win_h / 2)
        m = np.array([[scale, 0.0, w / 2 - scale * cx], [0.0, scale, h / 2 - scale * cy]])
        frames.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101))
    return frames


def photo_still(photo: str, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8: the first frame of the shot of ``photo`` (e.g. for style thumbnails)."""
    shot = next((s for s in SHOTS if s.photo == photo), None)
    if shot is None:
        raise ValueError(f"photo: expected one of {[s.photo for s in SHOTS]}, got {photo!r}")
    return _shot_frames(shot, 1, size)[0]


def shot_bounds(n: int, shots: int = len(SHOTS)) -> list[tuple[int, int]]:
    """``[start, stop)`` frame ranges of each shot in a clip of ``n`` frames (as equal as can be;
    fewer shots when ``n`` is short, at least 2 frames each)."""
    k = max(1, min(shots, n // 2))
    edges = np.linspace(0, n, k + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def photo_clip(n: int = 120, size: tuple[int, int] = (240, 320)) -> np.ndarray:
    """``n`` frames (n,H,W,3) uint8 RGB, ``size`` = (H, W): the shots of :data:`SHOTS` in order."""
    if n < 1 or min(size) < 16:
        raise ValueError(f"photo_clip: expected n >= 1 and a size of at least 16x16, got n={n}, size={size}")
    out: list[np.ndarray] = []
    for shot, (a, b) in zip(SHOTS, shot_bounds(n)):
        out += _shot_frames(shot, b - a, size)
    return np.stack(out)
