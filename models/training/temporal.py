"""Temporal training terms for feed-forward style networks (issue 17, item 1).

A network trained on still images alone flickers on video: two nearly identical frames get
different strokes. Following ReCoNet (Gao et al. 2018; also Huang et al. 2017, Ruder et al. 2018),
training adds, for a pair of frames (a, b) with the backward flow ``flow`` (``b(p) ~ a(p + flow(p))``,
the :mod:`models.flow.warp` convention) and a mask ``mask`` (1 where that holds, 0 where occluded or
out of frame):

* output term: mean over valid pixels of |f(b) - warp(f(a), flow)|^2 (the [0,1] RGB scale);
* feature term: the same on the encoder's output features (the last residual block, 1/4 size),
  flow and mask downscaled to that grid, divided by the mean squared feature of f(b) so its size
  does not depend on the network's internal value scale.

Pairs come from two sources:

* :func:`synthetic_pair`: a still crop moved by a known random similarity motion (shift,
  rotation, zoom). The flow is exact by construction and the mask is exactly the pixels whose
  source lies inside the crop (no flow estimator involved);
* :class:`VideoPairs` (:mod:`models.training.video_pairs`): consecutive frames of real videos with
  DIS flow computed once and cached on disk, masked by the Ruder et al. consistency check.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from models.contracts import check_flow, check_frames
from models.flow.warp import inside_mask, warp


def similarity_flow(h: int, w: int, *, shift: tuple[float, float], angle: float, zoom: float,
                    device: torch.device | str = "cpu") -> Tensor:
    """``(1,2,H,W)`` backward flow of a similarity motion about the image centre.

    Frame b samples frame a at ``q = c + zoom * R(angle) (p - c) + shift`` (p, c in pixels, angle
    in radians), so ``flow(p) = q - p`` exactly: ``warp(a, flow)`` renders b.
    """
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64, device=device),
                            torch.arange(w, dtype=torch.float64, device=device), indexing="ij")
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    ca, sa = math.cos(angle), math.sin(angle)
    dx, dy = xs - cx, ys - cy
    qx = cx + zoom * (ca * dx - sa * dy) + shift[0]
    qy = cy + zoom * (sa * dx + ca * dy) + shift[1]
    return torch.stack((qx - xs, qy - ys))[None].float()


def random_similarity_flows(n: int, h: int, w: int, gen: torch.Generator, *, max_shift: float = 6.0,
                            max_angle_deg: float = 2.0, max_zoom: float = 0.03) -> Tensor:
    """``(n,2,H,W)`` flows of independent random similarity motions (uniform in each range)."""
    u = torch.rand(n, 4, generator=gen, dtype=torch.float64) * 2.0 - 1.0
    flows = [similarity_flow(h, w, shift=(float(a) * max_shift, float(b) * max_shift),
                             angle=math.radians(float(c) * max_angle_deg), zoom=1.0 + float(d) * max_zoom)
             for a, b, c, d in u]
    return torch.cat(flows)


def synthetic_pair(frames: Tensor, gen: torch.Generator, *, noise: float = 0.0,
                   **motion: float) -> tuple[Tensor, Tensor, Tensor]:
    """(b, flow, mask) for crops ``frames`` = a ``(N,3,H,W)``: b = a moved by a random known motion,
    plus Gaussian pixel noise of std ``noise`` (clamped to [0,1]; drawn from ``gen``).

    ``mask`` is 1 where b's pixel comes from inside a (out-of-frame sources are invalid); the
    border pixels b gets from outside are filled by edge replication and masked out.
    """
    check_frames(frames, "frames")
    n, _, h, w = frames.shape
    flow = random_similarity_flows(n, h, w, gen, **motion).to(frames.device)
    b = warp(frames, flow, padding_mode="border")
    if noise > 0.0:
        eps = torch.randn(b.shape, generator=gen, dtype=torch.float32).to(device=b.device, dtype=b.dtype)
        b = (b + noise * eps).clamp(0.0, 1.0)
    return b, flow, inside_mask(flow)


def masked_mse(x: Tensor, y: Tensor, mask: Tensor) -> Tensor:
    """Mean of (x - y)^2 over channels and the pixels where ``mask`` (N,1,H,W) is 1."""
    sq = ((x.float() - y.float()) ** 2).mean(1, keepdim=True)
    return (sq * mask).sum() / mask.sum().clamp_min(1.0)


def output_temporal_loss(out_a: Tensor, out_b: Tensor, flow: Tensor, mask: Tensor) -> Tensor:
    """|f(b) - warp(f(a), flow)|^2 over the valid pixels (ReCoNet's output temporal loss, without
    its luminance term: pairs here have no lighting change)."""
    check_flow(flow, "flow", like=out_a)
    return masked_mse(out_b, warp(out_a, flow), mask)


def feature_temporal_loss(feat_a: Tensor, feat_b: Tensor, flow: Tensor, mask: Tensor) -> Tensor:
    """The output term on feature maps (any size): flow rescaled to their grid; a feature pixel
    counts only if every full-size pixel under it is valid; normalised by mean(feat_b^2)."""
    size = tuple(feat_b.shape[-2:])
    # A stride-s encoder's pixel j covers input pixels s*j..s*j+s-1 (pixel-centre alignment, not
    # the corner alignment of models.flow.estimators.upsample_flow): average the flow over that footprint
    # and scale vectors by the size ratio.
    f = F.interpolate(flow.float(), size=size, mode="area")
    f = f * torch.tensor([size[1] / flow.shape[-1], size[0] / flow.shape[-2]], device=f.device).view(1, 2, 1, 1)
    m = (F.interpolate(mask.float(), size=size, mode="area") > 0.999).float()
    scale = (feat_b.detach().float() ** 2).mean().clamp_min(1e-12)
    return masked_mse(feat_b, warp(feat_a, f), m) / scale


class FeatureTap:
    """Records the output of one submodule (the encoder end) on every forward (a forward hook)."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.value: Tensor | None = None
        self._handle = module.register_forward_hook(self._hook)

    def _hook(self, _module: torch.nn.Module, _inp: object, out: Tensor) -> None:
        self.value = out

    def close(self) -> None:
        self._handle.remove()


def encoder_end(model: torch.nn.Module) -> torch.nn.Module:
    """The last residual block of a :class:`models.nets.transformer.TransformerNet`-like network."""
    n = getattr(getattr(model, "config", None), "n_residual", None)
    block = getattr(model, f"res{n}", None) if n else None
    if block is None:
        raise ValueError(f"temporal training: expected a network with residual blocks res1..resN, got {type(model).__name__}")
    return block


def pair_losses(model: torch.nn.Module, tap: FeatureTap, a: Tensor, b: Tensor, flow: Tensor, mask: Tensor,
                forward=None) -> tuple[Tensor, Tensor]:
    """(output term, feature term) of ``model`` on the pair batch (one forward over [a; b])."""
    fwd = forward or model.forward_unclamped
    n = a.shape[0]
    y = fwd(torch.cat([a, b]))
    feats = tap.value
    if feats is None:
        raise RuntimeError("temporal training: the feature tap recorded nothing (wrong module?)")
    return output_temporal_loss(y[:n], y[n:], flow, mask), feature_temporal_loss(feats[:n], feats[n:], flow, mask)


def content_videos(paths: "tuple[str, ...] | list[str]") -> list[str]:
    """The video files among training content paths (files, or inside folders)."""
    from pathlib import Path

    from models.training.data import VIDEO_EXT

    out: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += [str(f) for f in sorted(p.rglob("*")) if f.suffix.lower() in VIDEO_EXT]
        elif p.suffix.lower() in VIDEO_EXT:
            out.append(str(p))
    return out


class TemporalTerm:
    """The temporal part of a training step: ``(output term, feature term)`` for step ``step``.

    Odd steps use a real-video pair batch when the content has videos, others the step's still
    crops moved by a random known motion. The randomness is a function of (seed, step) only, so
    a resumed run draws the same pairs as an uninterrupted one.
    """

    def __init__(self, model: torch.nn.Module, cfg: "object", *, cache_dir: "object") -> None:
        self.model, self.cfg = model, cfg
        self.tap = FeatureTap(encoder_end(model))
        videos = content_videos(cfg.content)
        self.video = None
        if videos:
            from models.training.video_pairs import VideoPairSampler, load_video_pairs

            pairs = load_video_pairs(videos, size=cfg.size, cache_dir=cache_dir, max_pairs=cfg.temporal_video_pairs)
            self.video = VideoPairSampler(pairs, size=cfg.size) if pairs else None

    def __call__(self, step: int, x: Tensor) -> tuple[Tensor, Tensor]:
        gen = torch.Generator().manual_seed(int(self.cfg.seed) * 1_000_003 + step)
        if self.video is not None and step % 2 == 1:
            a, b, flow, mask = (t.to(x.device) for t in self.video.batch(x.shape[0], gen))
        else:
            a = x
            b, flow, mask = synthetic_pair(x, gen, noise=self.cfg.temporal_noise)
        return pair_losses(self.model, self.tap, a, b, flow, mask)
