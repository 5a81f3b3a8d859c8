"""Long-term consistency weights (Ruder et al. 2016, Sec. 3.3, "closest first").

For frame i and the set J of earlier offsets, each earlier frame i-j has its own consistency
weights c(i-j, i) (Sec. 3.2, :func:`models.flow.consistency.consistency_weights` on the flow pair
between i-j and i). A pixel visible in several earlier frames should be pulled only towards the
*closest* one, so

    c_long(i-j, i) = max(c(i-j, i) - sum_{k in J, k < j} c(i-k, i), 0).

Note: the authors' Lua code subtracts the already-reduced weights of the closer frames; we use
the paper's formula (raw weights), which is never larger and identical for binary weights where
the closer frames do not overlap.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from torch import Tensor

from models.contracts import check_mask


def usable_offsets(i: int, offsets: Sequence[int]) -> list[int]:
    """The offsets j in J with frame i-j in the sequence (i-j >= 0), ascending (closest first)."""
    return sorted({int(j) for j in offsets if 0 <= i - j and j >= 1})


def long_term_weights(weights: Mapping[int, Tensor]) -> dict[int, Tensor]:
    """``{j: c(i-j, i)}`` -> ``{j: c_long(i-j, i)}``; masks ``(N,1,H,W)`` in [0,1], inputs untouched."""
    if not weights:
        return {}
    offsets = sorted(weights)
    first = weights[offsets[0]]
    for j in offsets:
        check_mask(weights[j], f"weights[{j}]", like=first)
    out: dict[int, Tensor] = {}
    closer = torch.zeros_like(first, dtype=torch.float32)
    for j in offsets:
        c = weights[j].float()
        out[j] = (c - closer).clamp(min=0.0)
        closer = closer + c
    return out
