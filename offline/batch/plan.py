"""Pure planning for ``stylecast batch``: which recordings, where each is cut, which chunks.

A recording is split at scene cuts first (each shot is independent, so Ruder's temporal chain is
never broken by a split there); a shot longer than ``chunk_frames`` is split into chunks of
near-equal length whose neighbours share ``overlap`` frames. Those shared frames are cross-faded
linearly (:func:`seam_weight`) when the chunks are put back together, so a seam changes the
picture gradually over ``overlap`` frames instead of in one step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from models.errors import UserError

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts", ".wmv", ".flv")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".webp", ".tif", ".tiff")


@dataclass(frozen=True)
class Chunk:
    """Frames ``[start, stop)`` of a recording; the first ``lead`` of them are shared with (and
    cross-faded against) the previous chunk of the same shot."""
    index: int
    start: int
    stop: int
    lead: int = 0

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class SplitConfig:
    chunk_frames: int = 300  # longest chunk core; a shot up to this length is one chunk
    overlap: int = 8  # frames shared (and cross-faded) by neighbouring chunks of a shot
    cut_threshold: float | None = 0.4  # grey-histogram distance (models.temporal.scenecut); None: never split at cuts

    def __post_init__(self) -> None:
        if self.chunk_frames < 2:
            raise UserError(f"--chunk-frames: expected at least 2, got {self.chunk_frames}")
        if not 0 <= self.overlap < self.chunk_frames:
            raise UserError(f"--overlap: expected 0 <= overlap < --chunk-frames ({self.chunk_frames}), got {self.overlap}")
        if self.cut_threshold is not None and not 0.0 < self.cut_threshold <= 1.0:
            raise UserError(f"--cut-threshold: expected a value in (0,1], got {self.cut_threshold}")


def shots(n_frames: int, cuts: list[int] | tuple[int, ...]) -> list[tuple[int, int]]:
    """``[start, stop)`` of each shot; ``cuts`` are the first frames of new shots."""
    edges = [0, *sorted(c for c in set(cuts) if 0 < c < n_frames), n_frames]
    return [(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def plan_chunks(n_frames: int, cuts: list[int] | tuple[int, ...], cfg: SplitConfig) -> tuple[Chunk, ...]:
    """Chunks covering ``[0, n_frames)``: no chunk spans a cut; long shots become
    ``ceil(len / chunk_frames)`` near-equal cores, each after the first extended ``overlap``
    frames back into its predecessor."""
    chunks: list[Chunk] = []
    for a, b in shots(n_frames, cuts):
        k = math.ceil((b - a) / cfg.chunk_frames)
        bounds = [a + round(j * (b - a) / k) for j in range(k + 1)]
        for j in range(k):
            lead = min(cfg.overlap, bounds[j] - bounds[j - 1]) if j else 0
            chunks.append(Chunk(len(chunks), bounds[j] - lead, bounds[j + 1], lead))
    return tuple(chunks)


def seam_weight(t: int, lead: int) -> float:
    """Weight of the later chunk on the ``t``-th (0-based) of ``lead`` shared frames: a linear
    cross-fade that never gives either chunk all of a shared frame: 1/(lead+1) ... lead/(lead+1)."""
    return (t + 1) / (lead + 1)


def _is_video(p: Path) -> bool:
    return p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES


def _is_frame_dir(p: Path) -> bool:
    return p.is_dir() and any(f.suffix.lower() in IMAGE_SUFFIXES for f in p.iterdir())


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files are recordings whatever their suffix (a corrupt one fails its own job later); a folder
    contributes its video files and its sub-folders of frames, or is itself a folder of frames."""
    found: list[Path] = []
    for text in inputs:
        p = Path(text)
        if not p.exists():
            raise UserError(f"input not found: {p}")
        if p.is_file():
            found.append(p)
            continue
        inner = sorted(c for c in p.iterdir() if _is_video(c) or _is_frame_dir(c))
        if inner:
            found.extend(inner)
        elif _is_frame_dir(p):
            found.append(p)
        else:
            raise UserError(f"{p}: expected video files ({', '.join(VIDEO_SUFFIXES)}) or folders of frames, found none")
    unique = list(dict.fromkeys(f.resolve() for f in found))
    if len(unique) < len(found):
        found = [Path(u) for u in unique]
    return found


def output_names(inputs: list[Path], container: str) -> list[str]:
    """``NAME.<container>`` per input; inputs sharing a stem keep their suffix in the name."""
    stems = [p.stem if p.is_file() else p.name for p in inputs]
    out = []
    for p, stem in zip(inputs, stems):
        name = stem if stems.count(stem) == 1 else f"{stem}_{p.suffix.lstrip('.') or 'frames'}"
        out.append(f"{name}.{container}")
    if len(set(out)) < len(out):
        dup = sorted({n for n in out if out.count(n) > 1})
        raise UserError(f"inputs map to the same output name(s) {', '.join(dup)}; rename them or run separate batches")
    return out
