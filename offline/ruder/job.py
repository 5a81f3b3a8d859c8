"""Resumable job directory.

Layout::

    JOB/job.json              settings fingerprint + input metadata (fps, time base, size, count)
    JOB/frames/000000.png     decoded (and resized) input frames, lossless
    JOB/flows/fwd_A_B.png     flow A->B (KITTI 16-bit PNG, models.flow.files), written on first use
    JOB/out/<stage>/000000.png  per-frame results of each stage (pass, direction, ...)
    JOB/progress.json         last finished (stage, frame), for humans and progress bars

Every file is written atomically (temp file + rename), and every computation reads its inputs
back from these files, never from memory. So an interrupted run (Ctrl-C, crash, reboot) resumes
by skipping the results that exist, and produces bit-identical frames: a resumed frame sees
exactly the bytes an uninterrupted run would have seen.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from models.errors import UserError
from models.io.atomic import write_bytes_atomic


def _atomic_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, data)


def write_png(path: Path, rgb_u8: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(np.ascontiguousarray(rgb_u8), cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"cannot encode PNG for {path}")
    _atomic_bytes(path, buf.tobytes())


def read_png(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UserError(f"{path}: expected a readable image, got an unreadable/corrupt file")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def u8_to_tensor(img: np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    return torch.from_numpy(img).permute(2, 0, 1)[None].float().div(255.0).to(device)


def tensor_to_u8(x: Tensor) -> np.ndarray:
    return (x[0].detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Job:
    """A job directory; ``settings`` (JSON-able) must match to resume."""

    def __init__(self, root: str | os.PathLike, settings: dict, *, restart: bool = False) -> None:
        self.root = Path(root)
        self.settings = settings
        meta_path = self.root / "job.json"
        fp = fingerprint(settings)
        if meta_path.exists() and not restart:
            meta = json.loads(meta_path.read_text())
            if meta.get("fingerprint") != fp:
                raise UserError(
                    f"job directory {self.root} was created with different settings "
                    f"(fingerprint {meta.get('fingerprint')}, now {fp}); use another --job-dir or --restart")
            self.meta = meta
        else:
            if restart and self.root.exists():
                import shutil

                shutil.rmtree(self.root)
            self.meta = {"fingerprint": fp, "settings": settings}
            _atomic_bytes(meta_path, json.dumps(self.meta, indent=1, default=str).encode())

    # --- metadata ------------------------------------------------------------------------
    def set_meta(self, **values: object) -> None:
        self.meta.update(values)
        _atomic_bytes(self.root / "job.json", json.dumps(self.meta, indent=1, default=str).encode())

    @property
    def n_frames(self) -> int:
        return int(self.meta["n_frames"])

    # --- frames --------------------------------------------------------------------------
    def frame_path(self, i: int) -> Path:
        return self.root / "frames" / f"{i:06d}.png"

    def frame(self, i: int, device: torch.device | str = "cpu") -> Tensor:
        return u8_to_tensor(read_png(self.frame_path(i)), device)

    # --- results -------------------------------------------------------------------------
    def result_path(self, stage: str, i: int) -> Path:
        return self.root / "out" / stage / f"{i:06d}.png"

    def has_result(self, stage: str, i: int) -> bool:
        return self.result_path(stage, i).exists()

    def save_result(self, stage: str, i: int, x: Tensor) -> None:
        write_png(self.result_path(stage, i), tensor_to_u8(x))
        _atomic_bytes(self.root / "progress.json", json.dumps({"stage": stage, "frame": i}).encode())

    def result(self, stage: str, i: int, device: torch.device | str = "cpu") -> Tensor:
        return u8_to_tensor(read_png(self.result_path(stage, i)), device)
