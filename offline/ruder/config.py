"""Frozen configuration of the offline methods, with the defaults of Ruder et al.

Weights. The original Lua code (manuelruder/artistic-videos) uses content 5e0, style 1e2,
temporal 1e3 (5e2 in multi-pass), tv 1e-3 on Caffe VGG19 (input 0..255 minus the mean). Our
loss networks take RGB [0,1]; the VGG19 weights we use (Keras/Caffe VGG19 with the input
normalisation folded into conv1) give the *same* features as Caffe, and our style/content
losses use the same normalisation as neural-style (Gram / (C*H*W), MSE), so content 5 and
style 100 carry over unchanged. The temporal loss is a pixel MSE on a 0..1 scale instead of
0..255, so its weight is multiplied by 255^2: 1e3 -> 6.5e7 (multi-pass 5e2 -> 3.25e7). TV: the
Lua TV is a quadratic sum on 0..255, ours (models.losses.functional.tv_loss) a mean L1 on 0..1; 1e6 gives
about the same per-pixel pull relative to the content term at 1024x436 (our choice).
Networks with other feature scales (torchvision's own VGG weights: ~58x smaller features, so
~3300x smaller style-to-content ratio) need --style-weight adjusted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

METHODS = ("fast", "ruder", "multipass")
INITS = ("random", "content", "prev-warped")
OPTIMIZERS = ("lbfgs", "adam")
LOSS_NETS = ("vgg19", "vgg16", "efficientnet_lite0")
VGG_STYLE_TAPS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG_CONTENT_TAP = "relu4_2"


@dataclass(frozen=True)
class OptimConfig:
    """Per-frame Gatys et al. optimization (loss weights in our [0,1]/torchvision scale)."""

    content_weight: float = 5.0
    style_weight: float = 100.0
    temporal_weight: float = 6.5e7  # 0 = plain per-frame optimization (the baseline)
    tv_weight: float = 1e6
    iterations: int = 1000
    first_iterations: int | None = 2000  # None = same as iterations
    optimizer: str = "lbfgs"
    lr: float = 0.04  # Adam; the Lua lr 1e1 on a 0..255 scale
    init: str = "prev-warped"  # for frames after the first; the first frame uses first_init
    first_init: str = "random"
    # Ruder et al. stop when the relative loss change over `tol_interval` iterations < tol.
    tol: float = 1e-4
    tol_interval: int = 50
    loss_net: str = "vgg19"
    loss_weights: str | None = None
    style_taps: tuple[str, ...] | None = None  # None = the loss network's defaults
    content_tap: str | None = None
    seed: int = 0
    autocast: bool = True  # bf16 autocast of the loss network on CUDA only
    channels_last: bool = True  # NHWC loss-network input under CUDA autocast (speed only)

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {self.optimizer!r}")
        for name in ("init", "first_init"):
            if getattr(self, name) not in INITS:
                raise ValueError(f"{name}: expected one of {INITS}, got {getattr(self, name)!r}")
        if self.iterations < 1:
            raise ValueError(f"iterations: expected >= 1, got {self.iterations}")
        if self.temporal_weight < 0:
            raise ValueError(f"temporal_weight: expected >= 0, got {self.temporal_weight}")


@dataclass(frozen=True)
class RuderConfig:
    """Single-pass method: frames in order, temporal loss over the long-term set J."""

    optim: OptimConfig = field(default_factory=OptimConfig)
    # J of Ruder et al. Sec. 3.3: earlier frames i-j used in the temporal loss; (1,) = short-term.
    long_term: tuple[int, ...] = (1, 10, 20, 40)

    def __post_init__(self) -> None:
        if not self.long_term or any(j < 1 for j in self.long_term):
            raise ValueError(f"long_term: expected positive frame offsets, got {self.long_term}")


@dataclass(frozen=True)
class MultipassConfig:
    """Multi-pass method (Ruder et al. IJCV 2018 Sec. 3.4; Lua artistic_video_multiPass.lua)."""

    optim: OptimConfig = field(
        default_factory=lambda: OptimConfig(iterations=100, first_iterations=None, temporal_weight=3.25e7, init="random", tol=0.0)
    )
    passes: int = 15
    temporal_after: int = 8  # temporal loss on from this (1-based) pass on
    blend_weight: float = 1.0  # weight of the neighbour we come from when initialising a pass
    blend_weight_other: float = 0.0  # weight of the neighbour on the other side (Lua: blendWeight_lastPass)

    def __post_init__(self) -> None:
        if self.passes < 1:
            raise ValueError(f"passes: expected >= 1, got {self.passes}")


MULTIPASS_PRESETS = {
    "paper": MultipassConfig(),
    # Our faster preset: ~3x fewer iterations in total, same schedule shape.
    "fast": MultipassConfig(
        optim=OptimConfig(iterations=50, first_iterations=None, temporal_weight=3.25e7, init="random", tol=0.0),
        passes=8,
        temporal_after=4,
    ),
}


@dataclass(frozen=True)
class FastConfig:
    """Feed-forward stylization + bidirectional flow blending (our scheme, see methods_fast)."""

    strength: float = 0.7
    render_scale: float = 1.0  # the network at this scale, guided upsampling (models.guided); 1 = full size
    render_max_side: int | None = None  # and its longer side at most this

