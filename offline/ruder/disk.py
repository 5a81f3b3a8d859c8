"""How much disk a job will still need, and a warning before it starts when that is more than free.

A job keeps every intermediate (decoded frames, flows, one PNG per frame per stage or pass) so it
can resume; for a long 1080p recording that is tens to hundreds of GB. Running out is handled
(the write fails cleanly, the job resumes after space is freed), but finding out after an hour
of work is not what a user wants, so the pipeline estimates first and says so.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

# Flow PNG bytes per pixel (KITTI 16-bit, models.flow.files): 0.40-0.47 MB at 1024x436 on Sintel = 0.9-1.06;
# rounded up, since busier motion compresses less.
FLOW_BYTES_PER_PIXEL = 1.3
# A stylized PNG is larger than the decoded frame's (strokes and texture compress worse).
RESULT_VS_FRAME = 1.5


@dataclass(frozen=True)
class DiskEstimate:
    flows: int  # bytes
    results: int

    @property
    def total(self) -> int:
        return self.flows + self.results


def estimate(*, n_frames: int, height: int, width: int, frame_png_bytes: float, flows_per_frame: int,
             results_per_frame: int) -> DiskEstimate:
    """Bytes the flows and per-stage results of ``n_frames`` frames will take."""
    flows = n_frames * flows_per_frame * height * width * FLOW_BYTES_PER_PIXEL
    results = n_frames * results_per_frame * frame_png_bytes * RESULT_VS_FRAME
    return DiskEstimate(flows=int(flows), results=int(results))


def method_counts(method: str, *, long_term: tuple[int, ...] = (1,), passes: int = 1) -> tuple[int, int]:
    """(flows, result images) per frame: ruder 2 per long-term offset (both directions) and one
    result; multi-pass 2 (its neighbours) and one per pass; fast 2 and four stages."""
    if method == "ruder":
        return 2 * len(long_term), 1
    if method == "multipass":
        return 2, passes
    if method == "fast":
        return 2, 4
    raise ValueError(f"method: expected ruder, multipass or fast, got {method!r}")


def warning(root: Path, need: DiskEstimate) -> str | None:
    """A message when ``need`` exceeds the free space where ``root`` lives, else None."""
    free = shutil.disk_usage(root).free
    if need.total <= free:
        return None
    gb = 1e9
    return (f"this job may need about {need.total / gb:.1f} GB more in {root} (flows {need.flows / gb:.1f} GB, "
            f"per-frame results {need.results / gb:.1f} GB) and {free / gb:.1f} GB are free: it will stop with "
            f"an error when the disk is full and continue from there when rerun after freeing space "
            f"(or use --job-dir on a bigger disk, --max-side, or --long-term 1)")
