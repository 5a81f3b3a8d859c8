"""Temporal-stability and fidelity metrics for stylized video.

``warping_error`` is E_warp of Lai et al. 2018 ("Learning Blind Video Temporal Consistency",
ECCV, Sec. 5.1): for each pair (t, t+1), frame t+1 of the *stylized* video is warped back onto
frame t with the optical flow of the *original* video, and the squared RGB difference is
averaged over the non-occluded pixels (occlusion from the Ruder et al. forward-backward and
motion-boundary checks, :mod:`models.flow.consistency`); the result is the mean over pairs. Values
are on the [0,1] RGB scale and averaged over channels.
"""
from __future__ import annotations

import torch
from torch import Tensor

from models.flow.consistency import consistency_weights
from models.contracts import check_flow, check_frames
from models.flow.estimators import DISConfig, DISFlow, FlowEstimator
from models.flow.warp import inside_mask, warp


def pair_warping_errors(
    original: Tensor,
    stylized: Tensor,
    flow: Tensor | None = None,
    *,
    flow_back: Tensor | None = None,
    estimator: FlowEstimator | None = None,
) -> Tensor:
    """Per-pair E_warp, ``(T-1,)`` float64. See :func:`warping_error` for the arguments."""
    check_frames(original, "original")
    check_frames(stylized, "stylized", like=original)
    t = original.shape[0]
    if stylized.shape != original.shape:
        raise ValueError(f"warping_error: stylized {tuple(stylized.shape)} must match original {tuple(original.shape)}")
    if t < 2:
        raise ValueError(f"warping_error: expected at least 2 frames, got {t}")
    if flow is None:
        est = estimator or DISFlow(DISConfig(preset="medium", max_side=None))
        flow = torch.cat([est(original[i:i + 1], original[i + 1:i + 2]) for i in range(t - 1)])
        flow_back = torch.cat([est(original[i + 1:i + 2], original[i:i + 1]) for i in range(t - 1)])
    check_flow(flow, "flow")
    if flow.shape[-2:] != original.shape[-2:]:
        raise ValueError(f"warping_error: flow size {tuple(flow.shape[-2:])} must match frames {tuple(original.shape[-2:])}")
    if flow.shape[0] != t - 1:
        raise ValueError(f"warping_error: expected {t - 1} flows (t -> t+1), got {flow.shape[0]}")
    if flow_back is not None:
        check_flow(flow_back, "flow_back")
        if flow_back.shape != flow.shape:
            raise ValueError(f"warping_error: flow_back {tuple(flow_back.shape)} must match flow {tuple(flow.shape)}")
        # consistency_weights wants the flow used for warping (t -> t+1 on t's grid) first.
        mask = consistency_weights(flow.float(), flow_back.float())
    else:
        mask = inside_mask(flow.float())
    errs = []
    for i in range(t - 1):
        cur = stylized[i:i + 1].double()
        nxt = warp(stylized[i + 1:i + 2].double(), flow[i:i + 1].double())
        m = mask[i:i + 1].double()
        sq = ((cur - nxt) ** 2).mean(1, keepdim=True)  # mean over RGB
        denom = m.sum()
        # All pixels occluded: no evidence either way; count the pair as 0 rather than NaN.
        errs.append((sq * m).sum() / denom if denom > 0 else torch.zeros((), dtype=torch.float64))
    return torch.stack(errs).cpu()


def warping_error(
    original_frames: Tensor,
    stylized_frames: Tensor,
    flow: Tensor | None = None,
    *,
    flow_back: Tensor | None = None,
    estimator: FlowEstimator | None = None,
) -> float:
    """E_warp (Lai et al. 2018) of ``stylized_frames`` given ``original_frames`` (both (T,3,H,W)).

    ``flow``: optional ``(T-1,2,H,W)`` flows t -> t+1 on frame t's grid (``warp(frame[t+1],
    flow[t]) ~= frame[t]``); ``flow_back`` the flows t+1 -> t for the occlusion check. Without
    ``flow`` both are estimated on the original with ``estimator`` (default DIS "medium" at full
    resolution). With ``flow`` but no ``flow_back`` only out-of-frame pixels are excluded.
    """
    return float(pair_warping_errors(original_frames, stylized_frames, flow, flow_back=flow_back, estimator=estimator).mean())



def fidelity(
    original: Tensor,
    stylized: Tensor,
    loss_net: "torch.nn.Module",
    *,
    style_image: Tensor | None = None,
    chunk: int = 4,
) -> dict[str, float]:
    """Content and style fidelity with a loss network (:func:`models.losses.networks.build_loss_network`).

    ``content``: mean over frames of the feature MSE at ``loss_net.content_tap`` between the
    stylized and the original frame (Johnson et al. 2016 feature reconstruction loss).
    ``style`` (only with ``style_image`` (1,3,h,w)): mean over frames of the Gram style loss
    (Gatys et al. 2016) at ``loss_net.style_taps`` against the style image.
    """
    from models.losses.functional import content_loss, gram, style_loss

    check_frames(original, "original")
    check_frames(stylized, "stylized", like=original)
    taps = list(dict.fromkeys([*loss_net.style_taps, loss_net.content_tap]))
    target = None
    if style_image is not None:
        check_frames(style_image, "style_image")
        with torch.no_grad():
            f = loss_net(style_image)
        target = {k: gram(f[k]) for k in loss_net.style_taps}
    c_sum, s_sum = 0.0, 0.0
    with torch.no_grad():
        for i in range(0, original.shape[0], chunk):
            fo = loss_net(original[i:i + chunk])
            fs = loss_net(stylized[i:i + chunk])
            n = fo[loss_net.content_tap].shape[0]
            for j in range(n):
                c_sum += float(content_loss(fs[loss_net.content_tap][j:j + 1], fo[loss_net.content_tap][j:j + 1]))
                if target is not None:
                    s_sum += float(style_loss({k: fs[k][j:j + 1] for k in taps}, target))
    t = original.shape[0]
    out = {"content": c_sum / t}
    if target is not None:
        out["style"] = s_sum / t
    return out
