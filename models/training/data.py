"""Content data for style-net training: images and video frames, random crops with scale jitter.

Everything is decoded once into memory (uint8, short side capped) so each step only crops: a
few hundred frames at <= 2x the crop size fit in well under 1 GB. Sampling uses a dedicated
``torch.Generator`` whose state is checkpointed, so a resumed run sees the same batches as an
uninterrupted one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from models.errors import UserError
from models.io.resize import resize_frame

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXT = {".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v"}


def read_image_rgb(path: Path) -> np.ndarray:
    from models.io.image import read_image  # the I/O boundary (EXIF orientation, errors); no FFmpeg needed

    return read_image(path)


def _video_frames(path: Path, max_frames: int) -> Iterator[np.ndarray]:
    """About ``max_frames`` frames spread over the video (every k-th decoded frame)."""
    from models.io.video import open_video

    with open_video(path) as reader:
        n = reader.frame_count or 0
        every = max(1, n // max_frames) if n else 4
        for i, fr in enumerate(reader):
            if i % every == 0:
                yield fr


def shrink(im: np.ndarray, short_max: int) -> np.ndarray:
    """``im`` downscaled so its shorter side is at most ``short_max`` (training crops are taken
    from the shorter side; the longest-side limit of models.io.resize is the wrong one here)."""
    h, w = im.shape[:2]
    s = short_max / min(h, w)
    if s < 1:
        im = resize_frame(im, (max(1, round(h * s)), max(1, round(w * s))))
    return im


def load_content(paths: Sequence[str | Path], *, size: int, max_frames_per_video: int = 60) -> list[np.ndarray]:
    """Decode images (files or folders, recursive) and sampled video frames, short side <= 2*size."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_EXT | VIDEO_EXT)
        elif p.is_file():
            files.append(p)
        else:
            raise UserError(f"--content: expected an image, video or folder, got missing path {p}")
    out: list[np.ndarray] = []
    for f in files:
        ext = f.suffix.lower()
        if ext in IMAGE_EXT:
            out.append(shrink(read_image_rgb(f), 2 * size))
        elif ext in VIDEO_EXT:
            frames = list(_video_frames(f, max_frames_per_video))[:max_frames_per_video]
            out += [shrink(fr, 2 * size) for fr in frames]
        else:
            raise UserError(f"--content {f}: expected an image ({sorted(IMAGE_EXT)}) or video "
                            f"({sorted(VIDEO_EXT)}), got {ext or 'no extension'}")
    if not out:
        raise UserError(f"--content: expected at least one image or video, found none in {list(map(str, paths))}")
    kept = [im for im in out if not is_flat(torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).float().div(255))]
    if not kept:
        raise UserError(f"--content: every image and frame in {list(map(str, paths))} is a flat colour; "
                        f"expected photos or video frames with some structure")
    return kept  # flat frames (black fades, title cards in one colour) are dropped: see is_flat


# A crop whose every channel has a standard deviation below this (on [0,1]) counts as flat.
FLAT_STD = 2.0 / 255
FLAT_RETRIES = 32


def is_flat(crop: Tensor) -> bool:
    """True for a (near-)uniform ``(3,H,W)`` crop, e.g. from a black fade or letterbox bar.

    Why it matters: a flat input stays spatially constant through every layer of the transformer,
    so every instance norm sees zero variance and scales the backward pass by 1/sqrt(eps) ~ 316;
    over the 15 instance norms of the ``standard`` preset that is ~1e37 and the gradient overflows
    to inf with a finite loss (a CPU udnie run diverged at step 77 on an all-black bunny frame).
    """
    return bool(crop.float().std(dim=(-2, -1)).max() < FLAT_STD)


class CropSampler:
    """Random ``size``x``size`` crops with scale jitter [0.8, 1.25] and horizontal flips.

    Flat crops (:func:`is_flat`) are redrawn, up to ``FLAT_RETRIES`` times per crop (content
    that is flat everywhere is rejected by :func:`load_content` first).
    """

    def __init__(self, images: Sequence[np.ndarray], *, size: int, seed: int) -> None:
        self.images = [torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1) for im in images]
        self.size = size
        self.gen = torch.Generator().manual_seed(seed)

    def batch(self, n: int) -> Tensor:
        return torch.stack([self._one() for _ in range(n)])

    def _one(self) -> Tensor:
        crop = self._draw()
        for _ in range(FLAT_RETRIES):
            if not is_flat(crop):
                break
            crop = self._draw()
        return crop

    def _draw(self) -> Tensor:
        g, s = self.gen, self.size
        im = self.images[int(torch.randint(len(self.images), (1,), generator=g))]
        h, w = im.shape[-2:]
        # Crop half the (capped) short side, jittered: objects appear at the scale of a frame
        # whose short side is ~2*size, +-25 %.
        jitter = 0.8 * (1.25 / 0.8) ** float(torch.rand(1, generator=g))
        side = min(h, w, max(8, round(min(h, w) / 2 * jitter)))
        y0 = int(torch.randint(h - side + 1, (1,), generator=g))
        x0 = int(torch.randint(w - side + 1, (1,), generator=g))
        crop = im[:, y0:y0 + side, x0:x0 + side].float().div(255)[None]
        crop = F.interpolate(crop, size=(s, s), mode="bilinear", align_corners=False, antialias=True)[0]
        if float(torch.rand(1, generator=g)) < 0.5:
            crop = crop.flip(-1)
        return crop.clamp(0, 1)
