"""Face detection and 68-point landmarks with dlib (HOG detector + Kazemi & Sullivan 2014 ERT).

The weights ship inside pip packages (no download at run time): the HOG detector is compiled
into ``dlib`` (prebuilt wheel ``dlib-bin``), the 68-point predictor file comes with
``face-recognition-models``. Both are optional: without them :func:`default_detector` raises a
UserError naming the packages, and callers may inject any detector with the same signature.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from models.errors import UserError

INSTALL_HINT = "pip install 'dlib-bin>=20' 'face-recognition-models>=0.3'"


@dataclass(frozen=True)
class Face:
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in image pixels
    landmarks: np.ndarray  # (68,2) float64 x,y


class FaceDetector(Protocol):
    def __call__(self, image: np.ndarray) -> list[Face]: ...


def predictor_path() -> Path:
    """Path of the 68-point model inside ``face_recognition_models`` (without importing it:
    its __init__ needs pkg_resources, gone from recent setuptools)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"face landmarks need the face-recognition-models package: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise UserError(f"expected the dlib 68-point model at {path}, not found; reinstall: {INSTALL_HINT}")
    return path


@functools.lru_cache(maxsize=2)
def _shape_predictor(path: str) -> object:
    """The 68-point model is a 100 MB file (1-2 s to parse): load it once per process. It is
    read-only after loading, so sharing it between detectors is safe."""
    import dlib
    return dlib.shape_predictor(path)


class DlibDetector:
    """``image`` HxWx3 uint8 RGB -> faces sorted left to right."""

    def __init__(self, *, upsample: int = 1, threshold: float = 0.3) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise UserError(f"face detection needs dlib: {INSTALL_HINT} ({exc})") from None
        self._dlib = dlib
        self._detect = dlib.get_frontal_face_detector()
        self._predict = _shape_predictor(str(predictor_path()))
        self.upsample = upsample
        self.threshold = threshold

    def landmarks_in(self, image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """68 landmarks inside a known box (used for tracking and for aligned exemplars)."""
        rect = self._dlib.rectangle(*(int(v) for v in box))
        shape = self._predict(np.ascontiguousarray(image), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], np.float64)

    def __call__(self, image: np.ndarray) -> list[Face]:
        img = np.ascontiguousarray(image)
        rects, _scores, _kinds = self._detect.run(img, self.upsample, self.threshold)
        faces = []
        for r in sorted(rects, key=lambda r: r.left()):
            box = (r.left(), r.top(), r.right(), r.bottom())
            faces.append(Face(box, self.landmarks_in(img, box)))
        return faces


def default_detector(*, upsample: int = 1, threshold: float = 0.3) -> Callable[[np.ndarray], list[Face]]:
    return DlibDetector(upsample=upsample, threshold=threshold)


def five_points(landmarks68: np.ndarray) -> np.ndarray:
    """Eye centres, nose tip, mouth corners (the 5-point convention of the shared photos)."""
    lm = np.asarray(landmarks68, np.float64)
    return np.array([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]])
