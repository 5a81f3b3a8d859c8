"""Per-frame Gatys et al. (CVPR 2016) optimization with Ruder et al.'s temporal term.

The image itself is the parameter: minimise
    a*L_content(x, p) + b*L_style(x, a_style) + g*L_temporal(x, targets) + t*TV(x)
with L-BFGS (as the paper) or Adam. Everything that affects the result is a function of the
inputs and ``seed``, so a job can be resumed frame by frame with identical output.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.contracts import check_frames
from models.losses.functional import content_loss, gram, style_loss, tv_loss
from offline.ruder.config import OptimConfig
from offline.ruder.lbfgs import lbfgs_for
from offline.ruder.temporal_loss import TemporalTarget, temporal_loss

# ImageNet mean: the Lua code initialises "random" as N(0, 1e-3) in Caffe's mean-subtracted
# 0..255 space, i.e. the mean pixel plus noise; our N(0, 1e-3) on 0..1 is a quarter grey level.
_MEAN = (0.485, 0.456, 0.406)


@dataclass(frozen=True)
class LossTerms:
    content: float
    style: float
    temporal: float
    tv: float
    total: float


def random_init(shape: tuple[int, ...], *, seed: int, device: torch.device | str) -> Tensor:
    g = torch.Generator(device="cpu").manual_seed(seed)
    noise = torch.randn(shape, generator=g) * 1e-3
    mean = torch.tensor(_MEAN).view(1, 3, 1, 1)
    return (mean + noise).to(device)


@contextlib.contextmanager
def tf32_matmul(enabled: bool) -> Iterator[None]:
    """Float32 matmuls (the Gram matrices) in TF32 while active, on CUDA.

    Why it loses nothing here: under bf16 autocast the features are bf16 values, which TF32's 10
    mantissa bits hold exactly, so the forward Gram is the fp32 one up to summation order; in the
    backward the fp32 gradient is rounded to 10 bits and then to bf16's 8 on its way into the
    network anyway. Full fp32 matmuls run at a fraction of the tensor cores' TF32 rate on
    Hopper. The flag is global (the autograd engine's device thread reads it too), so it is set
    around the whole forward+backward and restored after."""
    if not enabled:
        yield
        return
    m = torch.backends.cuda.matmul
    new_api = hasattr(m, "fp32_precision")  # torch >= 2.9; mixing it with allow_tf32 raises
    old = m.fp32_precision if new_api else m.allow_tf32
    if new_api:
        m.fp32_precision = "tf32"
    else:
        m.allow_tf32 = True
    try:
        yield
    finally:
        if new_api:
            m.fp32_precision = old
        else:
            m.allow_tf32 = old


class FrameOptimizer:
    """Holds the loss network and the style targets; :meth:`run` stylizes one frame."""

    def __init__(self, loss_net: nn.Module, style_image: Tensor, config: OptimConfig, *,
                 style_taps: list[str], content_tap: str, content_size: tuple[int, int]) -> None:
        check_frames(style_image, "style_image")
        self.net = loss_net
        self.cfg = config
        self.style_taps = list(style_taps)
        self.content_tap = content_tap
        self.device = style_image.device
        # Style image scaled so its longer side matches the content's (neural-style style_scale=1).
        sh, sw = style_image.shape[-2:]
        s = max(content_size) / max(sh, sw)
        size = (max(16, round(sh * s)), max(16, round(sw * s)))
        style = F.interpolate(style_image.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
        with torch.no_grad(), self._autocast():
            feats = self.net(self._net_input(style))
        self.style_grams = {k: gram(feats[k].float()).detach() for k in self.style_taps}

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.cfg.autocast and self.device.type == "cuda":
            # bf16 keeps fp32's range: Gram matrices of deep layers overflow in fp16.
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _fast(self) -> bool:
        return self.cfg.autocast and self.device.type == "cuda"

    def _net_input(self, x: Tensor) -> Tensor:
        # channels_last: cuDNN's bf16 convolutions on tensor cores work in NHWC; NCHW input costs
        # a layout transform around every conv (measured in bench/ruder_gpu.py).
        if self._fast() and self.cfg.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def _loss_tensors(self, x: Tensor, content_target: Tensor, targets: list[TemporalTarget]) -> tuple[Tensor, Tensor]:
        """Total loss and the stacked (content, style, temporal, tv) terms, without a host sync."""
        with self._autocast():
            feats = self.net(self._net_input(x))
        c = content_loss(feats[self.content_tap].float(), content_target)
        s = style_loss({k: feats[k].float() for k in self.style_taps}, self.style_grams)
        t = temporal_loss(x, targets) if targets and self.cfg.temporal_weight > 0 else x.new_zeros(())
        v = tv_loss(x)
        cfg = self.cfg
        total = cfg.content_weight * c + cfg.style_weight * s + cfg.temporal_weight * t + cfg.tv_weight * v
        return total, torch.stack([c, s, t, v]).detach()

    def losses(self, x: Tensor, content_target: Tensor, targets: list[TemporalTarget]) -> tuple[Tensor, LossTerms]:
        with tf32_matmul(self._fast()):
            total, parts = self._loss_tensors(x, content_target, targets)
        c, s, t, v = parts.tolist()
        return total, LossTerms(c, s, t, v, float(total.detach()))

    def content_target(self, content: Tensor) -> Tensor:
        with torch.no_grad(), self._autocast():
            return self.net(self._net_input(content.float()))[self.content_tap].float().detach()

    def run(self, content: Tensor, init: Tensor, targets: list[TemporalTarget], *, iterations: int,
            on_iter: Callable[[int], None] | None = None) -> tuple[Tensor, LossTerms]:
        """Optimise from ``init`` (not modified); returns the clamped image and its final losses.

        Deterministic given its inputs (no sampling inside; random inits are made by the caller
        from a per-frame seed), which is what makes resumed jobs identical."""
        check_frames(content, "content")
        check_frames(init, "init", like=content)
        p_target = self.content_target(content)
        x = init.detach().float().clone(memory_format=torch.contiguous_format).requires_grad_(True)
        cfg = self.cfg
        history: list[float] = []

        def closure() -> Tensor:
            x.grad = None
            with tf32_matmul(self._fast()):
                loss, _ = self._loss_tensors(x, p_target, targets)
                loss.backward()
            history.append(float(loss.detach()))  # the one host sync per evaluation (line search needs it)
            if on_iter is not None:
                on_iter(len(history))
            return loss

        def converged() -> bool:
            # Ruder et al.: stop when the loss changed by < tol (relative) over tol_interval evals.
            n = cfg.tol_interval
            if cfg.tol <= 0 or len(history) <= n:
                return False
            old, new = history[-n - 1], history[-1]
            return abs(old - new) < cfg.tol * max(abs(old), 1e-12)

        if cfg.optimizer == "lbfgs":
            # One .step() runs up to max_iter evaluations; chunk it to check the tolerance.
            # history 100, strong Wolfe; on CUDA without torch's 200 host syncs per iteration
            # (offline/ruder/lbfgs.py).
            chunk = min(iterations, max(cfg.tol_interval, 1))
            lbfgs = lbfgs_for(x, history=100)
            while len(history) < iterations and not converged():
                max_iter = min(chunk, iterations - len(history))
                before = len(history)
                lbfgs.step(closure, max_iter=max_iter, max_eval=max_iter * 5 // 4)
                if len(history) == before:
                    break
        else:
            opt = torch.optim.Adam([x], lr=cfg.lr)
            while len(history) < iterations and not converged():
                opt.step(closure)
        with torch.no_grad():
            out = x.detach().clamp(0.0, 1.0)
            _, terms = self.losses(out, p_target, targets)
        return out, terms
