"""Flow consistency weights of Ruder, Dosovitskiy & Brox 2016 ("Artistic style transfer for
videos", GCPR; Sec. 3.2), shared by the live pipeline and the offline methods.

For frames ``prev`` and ``cur``: ``flow_bwd`` is the flow cur->prev (defined on cur's grid, the
one used to warp prev onto cur, written w^ in the paper) and ``flow_fwd`` is prev->cur (w).
With w~(x) = w(x + w^(x)) (the forward flow warped to cur's grid), a pixel is
- disoccluded when |w~ + w^|^2 > 0.01 (|w~|^2 + |w^|^2) + 0.5  (forward/backward disagree),
- on a motion boundary when |grad u^|^2 + |grad v^|^2 > 0.01 |w^|^2 + 0.002,
- unreliable when x + w^(x) leaves the image.
Those pixels get weight 0, all others 1.
"""
from __future__ import annotations

import torch
from torch import Tensor

from models.contracts import check_flow
from models.flow.warp import inside_mask, warp

DISOCC_REL = 0.01
DISOCC_ABS = 0.5
MOTION_REL = 0.01
MOTION_ABS = 0.002


def _grad_sq(flow: Tensor) -> Tensor:
    """|grad u|^2 + |grad v|^2 with central differences (one-sided at the border), (N,1,H,W)."""
    def d(t: Tensor, dim: int) -> Tensor:
        n = t.shape[dim]
        if n < 2:
            return torch.zeros_like(t)
        g = torch.empty_like(t)
        inner = (t.narrow(dim, 2, n - 2) - t.narrow(dim, 0, n - 2)) * 0.5
        g.narrow(dim, 1, n - 2).copy_(inner)
        g.narrow(dim, 0, 1).copy_(t.narrow(dim, 1, 1) - t.narrow(dim, 0, 1))
        g.narrow(dim, n - 1, 1).copy_(t.narrow(dim, n - 1, 1) - t.narrow(dim, n - 2, 1))
        return g

    f = flow.float()
    return (d(f, -1) ** 2 + d(f, -2) ** 2).sum(1, keepdim=True)


def disocclusion(flow_bwd: Tensor, flow_fwd: Tensor) -> Tensor:
    """``(N,1,H,W)`` bool: forward-backward check fails (pixel of cur not visible in prev)."""
    wb = flow_bwd.float()
    wf = warp(flow_fwd.float(), wb, padding_mode="border")
    lhs = ((wf + wb) ** 2).sum(1, keepdim=True)
    rhs = DISOCC_REL * ((wf**2).sum(1, keepdim=True) + (wb**2).sum(1, keepdim=True)) + DISOCC_ABS
    return lhs > rhs


def motion_boundary(flow_bwd: Tensor) -> Tensor:
    """``(N,1,H,W)`` bool: strong flow gradient relative to the flow magnitude."""
    wb = flow_bwd.float()
    return _grad_sq(wb) > MOTION_REL * (wb**2).sum(1, keepdim=True) + MOTION_ABS


def consistency_weights(flow_bwd: Tensor, flow_fwd: Tensor) -> Tensor:
    """Ruder et al. weights c on cur's grid: ``(N,1,H,W)`` float32, 1 = reliable, 0 = not."""
    check_flow(flow_bwd, "flow_bwd")
    check_flow(flow_fwd, "flow_fwd", like=flow_bwd)
    bad = disocclusion(flow_bwd, flow_fwd) | motion_boundary(flow_bwd)
    return (~bad).float() * inside_mask(flow_bwd.float())
