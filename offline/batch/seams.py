"""Does a chunk seam show? E_warp (Lai et al. 2018, :mod:`models.temporal.metrics`) of the frame pairs at
seams against the pairs inside chunks, on the assembled output. Used by bench/batch_seams.py and
the tests."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from offline.batch.plan import Chunk


@dataclass(frozen=True)
class SeamReport:
    seam: float  # mean E_warp over pairs touching a cross-faded region (or a hard chunk border)
    inside: float  # mean E_warp over all other pairs (pairs across scene cuts excluded)
    n_seam: int
    n_inside: int

    @property
    def ratio(self) -> float:
        return self.seam / max(self.inside, 1e-12)


def seam_pairs(chunks: tuple[Chunk, ...] | list[Chunk], cuts=()) -> tuple[set[int], set[int]]:
    """(pairs t->t+1 at seams, pairs across scene cuts), as sets of t. A seam is a cross-faded
    region (the pairs entering, inside and leaving it) or a chunk border that is not a cut."""
    seams, across = set(), {c - 1 for c in cuts}
    for c in chunks[1:]:
        if c.lead:
            seams.update(range(c.start - 1, c.start + c.lead))
        elif c.start not in cuts:
            seams.add(c.start - 1)
    return seams, across


def seam_report(original: Tensor, stylized: Tensor, chunks, *, cuts=(),
                flows: tuple[Tensor, Tensor] | None = None) -> SeamReport:
    """``original``/``stylized``: (T,3,H,W) in [0,1]; ``chunks`` the plan the output came from;
    ``flows`` optional (t->t+1, t+1->t) flows of ``original`` (estimated with DIS otherwise)."""
    from models.temporal.metrics import pair_warping_errors

    fwd, bwd = flows if flows is not None else (None, None)
    errs = pair_warping_errors(original, stylized, fwd, flow_back=bwd)
    seams, cut_pairs = seam_pairs(chunks, cuts)
    t_all = range(errs.shape[0])
    s = [t for t in t_all if t in seams]
    i = [t for t in t_all if t not in seams and t not in cut_pairs]
    mean = lambda ts: float(errs[torch.tensor(ts, dtype=torch.long)].mean()) if ts else float("nan")  # noqa: E731
    return SeamReport(seam=mean(s), inside=mean(i), n_seam=len(s), n_inside=len(i))
