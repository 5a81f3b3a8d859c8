"""Real-video training pairs for temporal training, with flow computed once and cached on disk.

Each video contributes up to ``max_pairs`` consecutive frame pairs (spread over the clip), decoded
at a short side of ``2 * size`` like the still content (:func:`models.training.data.load_content`).
For each pair the backward flow (frame t -> t-1, :mod:`models.flow.warp` convention) and the forward
flow are estimated with DIS "medium" at that size, the Ruder et al. consistency mask
(:func:`models.flow.consistency.consistency_weights`) is derived, and flow + mask are stored in
``cache_dir`` as one ``.npz`` per video, keyed by the file's path, size, mtime and the settings:
a resumed or repeated run reads them back instead of recomputing (DIS medium costs ~0.1 s per
flow at 480p on one core, which would otherwise be paid on every step).
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from models.flow.consistency import consistency_weights
from models.flow.estimators import DISConfig, DISFlow
from models.flow.warp import inside_mask
from models.io.atomic import atomic_path
from models.training.data import shrink

FLOW_PRESET = "medium"


def _pairs_from_video(path: Path, short_side: int, max_pairs: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from models.io.video import open_video

    with open_video(path) as reader:
        n = reader.frame_count or 0
        every = max(2, n // max_pairs) if n else 8
        out, prev = [], None
        for i, fr in enumerate(reader):
            if prev is not None and (i - 1) % every == 0:
                out.append((prev, shrink(fr, short_side)))
                if len(out) == max_pairs:
                    break
            prev = shrink(fr, short_side) if i % every == 0 else None
    return out


def _cache_key(path: Path, short_side: int, max_pairs: int) -> str:
    st = path.stat()
    text = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{short_side}|{max_pairs}|{FLOW_PRESET}|v1"
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _to_tensor(im: np.ndarray) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1)[None].float().div(255)


def load_video_pairs(paths: Sequence[str | Path], *, size: int, cache_dir: str | Path, max_pairs: int = 30
                     ) -> list[dict[str, np.ndarray]]:
    """``[{"a", "b": (H,W,3) uint8, "flow": (2,H,W) float32 b->a, "mask": (H,W) uint8}]``."""
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    est = None
    out: list[dict[str, np.ndarray]] = []
    for p in map(Path, paths):
        f = cache / f"{p.stem}.{_cache_key(p, 2 * size, max_pairs)}.npz"
        if f.is_file():
            with np.load(f) as z:
                out += [{k: z[f"{k}{i}"] for k in ("a", "b", "flow", "mask")} for i in range(int(z["n"]))]
            continue
        est = est or DISFlow(DISConfig(preset=FLOW_PRESET, max_side=None))
        items = []
        for a, b in _pairs_from_video(p, 2 * size, max_pairs):
            ta, tb = _to_tensor(a), _to_tensor(b)
            bwd, fwd = est(tb, ta), est(ta, tb)
            mask = consistency_weights(bwd, fwd)[0, 0].numpy() > 0.5
            items.append({"a": a, "b": b, "flow": bwd[0].numpy().astype(np.float32), "mask": mask.astype(np.uint8)})
        arrays = {f"{k}{i}": it[k] for i, it in enumerate(items) for k in it}
        with atomic_path(f, keep_suffix=True) as tmp:  # an interrupted run leaves no half-written cache
            np.savez_compressed(tmp, n=len(items), **arrays)
        out += items
    return out


class VideoPairSampler:
    """Random ``size`` x ``size`` crops of cached video pairs: (a, b, flow, mask) batches.

    Crops are taken at the pairs' own scale (no resizing: the flow stays exact in pixels)."""

    def __init__(self, pairs: list[dict[str, np.ndarray]], *, size: int) -> None:
        self.pairs = [p for p in pairs if min(p["a"].shape[:2]) >= size]
        if not self.pairs:
            raise ValueError(f"temporal video pairs: none at least {size}px on the short side")
        self.size = size

    def batch(self, n: int, gen: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        a, b, fl, m = [], [], [], []
        s = self.size
        for _ in range(n):
            p = self.pairs[int(torch.randint(len(self.pairs), (1,), generator=gen))]
            h, w = p["a"].shape[:2]
            y0 = int(torch.randint(h - s + 1, (1,), generator=gen))
            x0 = int(torch.randint(w - s + 1, (1,), generator=gen))
            a.append(_to_tensor(p["a"][y0:y0 + s, x0:x0 + s]))
            b.append(_to_tensor(p["b"][y0:y0 + s, x0:x0 + s]))
            fl.append(torch.from_numpy(np.ascontiguousarray(p["flow"][:, y0:y0 + s, x0:x0 + s]))[None])
            m.append(torch.from_numpy(p["mask"][y0:y0 + s, x0:x0 + s].astype(np.float32))[None, None])
        flow, mask = torch.cat(fl), torch.cat(m)
        # A crop cuts flows that pointed inside the full frame: those now leave the crop.
        return torch.cat(a), torch.cat(b), flow, mask * inside_mask(flow)
