"""Exemplar sets: DIR/styled/NAME.png (or DIR/sketches/) with optional DIR/photos/NAME.png."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from models.errors import UserError
from offline.faces.landmarks import Face

STYLED_DIRS = ("styled", "sketches")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".webp")


@dataclass(frozen=True)
class Exemplar:
    name: str
    styled: np.ndarray  # HxWx3 float32 RGB [0,1]
    photo: np.ndarray | None  # same size, or None
    landmarks: np.ndarray  # (68,2), in the exemplar's pixels


@dataclass(frozen=True)
class ExemplarSet:
    items: tuple[Exemplar, ...]

    @property
    def has_photos(self) -> bool:
        return all(e.photo is not None for e in self.items)

    def without(self, name: str) -> "ExemplarSet":
        return ExemplarSet(tuple(e for e in self.items if e.name != name))

    def only(self, names: Sequence[str]) -> "ExemplarSet":
        return ExemplarSet(tuple(e for e in self.items if e.name in names))


def read_rgb(path: Path) -> np.ndarray:
    """HxWx3 uint8 RGB (cv2 decoder; grayscale files are expanded)."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"expected a readable image at {path}, could not decode it")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_exemplars(directory: str | Path, detector: Callable[[np.ndarray], list[Face]]) -> ExemplarSet:
    """Load every styled exemplar, its photo when present, and landmarks (from the photo if any).

    Raises UserError when the layout is wrong or no face is found in an exemplar.
    """
    root = Path(directory)
    styled_dir = next((root / d for d in STYLED_DIRS if (root / d).is_dir()), None)
    if styled_dir is None:
        raise UserError(f"exemplars: expected {root}/styled/ (or sketches/) with stylized portraits, "
                        f"found {sorted(p.name for p in root.iterdir()) if root.is_dir() else 'no directory'}")
    files = sorted(p for p in styled_dir.iterdir() if p.suffix.lower() in IMAGE_EXTS)
    if not files:
        raise UserError(f"exemplars: expected images in {styled_dir}, found none")
    items = []
    for f in files:
        styled = read_rgb(f)
        photo_path = next((root / "photos" / (f.stem + e) for e in IMAGE_EXTS
                           if (root / "photos" / (f.stem + e)).is_file()), None)
        photo = read_rgb(photo_path) if photo_path else None
        if photo is not None and photo.shape != styled.shape:
            raise UserError(f"exemplar {f.stem}: photo is {photo.shape[1]}x{photo.shape[0]}, "
                            f"expected the styled size {styled.shape[1]}x{styled.shape[0]}")
        faces = detector(photo if photo is not None else styled)
        if not faces:
            raise UserError(f"exemplar {f.name}: expected one face, the detector found none")
        face = max(faces, key=lambda fc: (fc.box[2] - fc.box[0]) * (fc.box[3] - fc.box[1]))
        items.append(Exemplar(
            f.stem, styled.astype(np.float32) / 255.0,
            None if photo is None else photo.astype(np.float32) / 255.0, face.landmarks))
    return ExemplarSet(tuple(items))
