"""Input decoding into a job directory, and writing the final frames out.

Input: a video file (models.io.open_video) or a directory of still frames (sorted by name,
e.g. Sintel's frame_0001.png...). Frames are resized to the processing size once and stored
losslessly in the job, with their timestamps, so a resumed job never decodes again.
Output: a video file (models.io.VideoWriter: same fps/time base/timestamps, audio copied from
the input) or a directory of PNG frames. Both are written atomically: no partial output.
"""
from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

from tqdm import tqdm

from models.errors import InputError, UserError
from models.io.resize import fit_size, resize_frame
from offline.ruder.job import Job, read_png, write_png

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")


def processing_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    """Downscale so the longer side is <= max_side; even sizes (yuv420p output), >= 16 px."""
    return fit_size(h, w, max_side, min_side=16, keep_fitting=False)


def _frame_files(path: Path) -> list[Path]:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{path}: expected a video file or a directory of frames ({', '.join(IMAGE_SUFFIXES)}), found no frames")
    return files


def check_input(path: str | os.PathLike) -> None:
    """Fail before any job directory is created: missing, empty or undecodable input."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"input not found: {p}")
    if p.is_dir():
        _frame_files(p)
    else:
        from models.io import open_video

        with open_video(p):  # decodes the first frame: corrupt files fail here
            pass


def decode_into(job: Job, path: str | os.PathLike, *, max_side: int | None, max_frames: int | None,
                fps: float | None = None) -> None:
    """Decode ``path`` into ``job`` unless a previous run already did."""
    if "n_frames" in job.meta:
        return
    p = Path(path)
    size: tuple[int, int] | None = None
    n = 0
    pts: list[int | None] = []
    meta: dict[str, object] = {}
    if p.is_dir():
        for f in tqdm(_frame_files(p)[:max_frames], desc="reading frames", unit="frame"):
            img = read_png(f)
            size = size or processing_size(*img.shape[:2], max_side)
            write_png(job.frame_path(n), resize_frame(img, size))
            n += 1
        meta = {"fps": str(Fraction(fps or 24).limit_denominator(1_000_000)), "time_base": None, "has_audio": False}
    else:
        from models.io import open_video

        with open_video(p) as reader:
            meta = {"fps": str(reader.fps), "time_base": str(reader.time_base), "has_audio": reader.has_audio}
            for img, t, _tb in tqdm(reader.frames_with_pts(), desc="decoding video", unit="frame", total=reader.frame_count):
                if max_frames is not None and n >= max_frames:
                    break
                size = size or processing_size(*img.shape[:2], max_side)
                write_png(job.frame_path(n), resize_frame(img, size))
                pts.append(t)
                n += 1
    if n < 1 or size is None:
        raise InputError(f"{p}: no frames decoded")
    job.set_meta(n_frames=n, height=size[0], width=size[1], pts=pts, **meta)


def check_output(path: str | os.PathLike) -> Path:
    """Validate the output path before any work: a video file or a (new) frame directory."""
    p = Path(path)
    if p.suffix.lower() in VIDEO_SUFFIXES:
        from models.io import check_output_path

        return check_output_path(p, VIDEO_SUFFIXES)
    if p.suffix:
        raise UserError(f"output {p}: expected a video file ({', '.join(VIDEO_SUFFIXES)}) or a directory name without suffix, got {p.suffix!r}")
    if p.exists() and (not p.is_dir() or any(p.iterdir())):
        raise UserError(f"output directory {p} exists and is not empty; expected a new or empty directory")
    if not p.resolve().parent.is_dir():
        raise UserError(f"output directory's parent does not exist: {p.resolve().parent}")
    return p


def write_output(job: Job, stage: str, out: str | os.PathLike, *, audio_from: str | os.PathLike | None,
                 pix_fmt: str = "yuv420p") -> Path:
    """Write the final frames of ``stage``; atomic (temp + rename), nothing left on failure."""
    p = Path(out)
    n = job.n_frames
    if p.suffix.lower() in VIDEO_SUFFIXES:
        from models.io import VideoWriter

        tb = job.meta.get("time_base")
        pts = job.meta.get("pts") or []
        keep_pts = len(pts) == n and all(t is not None for t in pts)
        with VideoWriter(p, width=int(job.meta["width"]), height=int(job.meta["height"]),
                         fps=Fraction(job.meta["fps"]), time_base=Fraction(tb) if tb else None,
                         audio_from=audio_from if job.meta.get("has_audio") else None, pix_fmt=pix_fmt) as w:
            for i in tqdm(range(n), desc="encoding video", unit="frame"):
                w.write(read_png(job.result_path(stage, i)), pts=(pts[i] - pts[0]) if keep_pts else None)
        return p
    tmp = p.with_name(f".{p.name}.part")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir(parents=True)
        for i in range(n):
            shutil.copyfile(job.result_path(stage, i), tmp / f"frame_{i + 1:06d}.png")
        if p.exists():
            p.rmdir()
        os.replace(tmp, p)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        from models.io.video_write import write_error

        raise write_error(p, exc) from None
    return p
