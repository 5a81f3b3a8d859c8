"""Flow + consistency between two image files (behind ``stylecast flow``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from models.flow.consistency import consistency_weights
from models.errors import InputError
from models.flow.files import write_flo
from offline.ruder.flowcache import make_estimator
from offline.ruder.job import read_png, u8_to_tensor


def compute(a: torch.Tensor, b: torch.Tensor, method: str = "dis") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(forward A->B, backward B->A, consistency on B's grid)."""
    est = make_estimator(method)
    fwd, bwd = est(a, b), est(b, a)
    # On B's grid: "cur" = B, "prev" = A; flow_bwd = B->A, flow_fwd = A->B.
    return fwd, bwd, consistency_weights(bwd, fwd)


def flow_pair(path_a: Path, path_b: Path, out_dir: Path, *, method: str = "dis") -> list[Path]:
    for p in (path_a, path_b):
        if not p.is_file():
            raise InputError(f"frame not found: expected an image file, got {p}")
    ia, ib = read_png(path_a), read_png(path_b)
    if ia.shape != ib.shape:
        raise InputError(f"frames differ in size: {path_a.name} is {ia.shape[1]}x{ia.shape[0]}, "
                         f"{path_b.name} is {ib.shape[1]}x{ib.shape[0]}; expected equal sizes")
    fwd, bwd, c = compute(u8_to_tensor(ia), u8_to_tensor(ib), method)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "forward.flo", out_dir / "backward.flo", out_dir / "consistency.png"]
    write_flo(paths[0], fwd[0].permute(1, 2, 0).numpy())
    write_flo(paths[1], bwd[0].permute(1, 2, 0).numpy())
    c8 = (c[0, 0].numpy() * 255.0 + 0.5).astype(np.uint8)
    _write_gray(paths[2], c8)
    return paths


def _write_gray(path: Path, img: np.ndarray) -> None:
    import cv2

    from models.io.atomic import write_bytes_atomic

    ok, buf = cv2.imencode(".png", img)
    if not ok:
        raise OSError(f"cannot encode {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, buf.tobytes())
