"""Training configuration: the frozen settings of a run, their validation, and the resume check.

A run's :class:`TrainConfig` is saved in its state file; :func:`same_run` decides whether a
restarted command continues it (only ``steps`` and the output-only fields may change).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import UserError
from models.nets.multistyle import MultiStyleNet
from models.nets.transformer import PRESETS

# (style_weight, tv_weight) per loss network with the loss conventions of models.losses.functional
# (content weight 1). VGG: the pytorch/examples ratio (1e10 / 1e5); Lite0's features have another
# scale: 50 was tuned on short CPU runs (docs/bench/training.md).
DEFAULT_WEIGHTS: dict[str, tuple[float, float]] = {
    "efficientnet_lite0": (50.0, 1e-5),
    "vgg16": (1e5, 1e-5),
    "vgg19": (1e5, 1e-5),
}


@dataclass(frozen=True)
class TrainConfig:
    style: str
    content: tuple[str, ...]
    output: str
    name: str = ""
    preset: str = "light"
    loss_net: str = "efficientnet_lite0"
    loss_weights: str | None = None
    size: int = 256
    style_size: int = 384
    # Stroke size (issue 17): the Gram targets come from the painting at ``style_scale *
    # style_size`` long side (:meth:`style_pixels`), so 2 paints strokes ~2x as large; see
    # docs/training.md "Stroke size".
    style_scale: float = 1.0
    batch_size: int = 4
    steps: int = 2000
    style_weight: float = 50.0
    content_weight: float = 1.0
    tv_weight: float = 1e-5
    lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 200
    preview_every: int = 200
    max_frames_per_video: int = 60
    description: str = ""
    license: str = ""
    # Recorded in the exported file, not used in training: how the style is meant to be rendered
    # (models.nets.color; 1 = keep the photo's colours).
    preserve_color: float = 0.0
    work_dir: str = ""  # default: <output>.work
    # Multi-style training: style image paths (then ``style`` is "") and their names (default:
    # file stems), in the network's style order.
    styles: tuple[str, ...] = ()
    style_names: tuple[str, ...] = ()
    # Temporal training (models.training.temporal, issue 17): weight of the output temporal term and
    # of the feature temporal term (0 = off); pairs alternate between still crops moved by a known
    # random motion and real-video pairs (the videos among ``content``, flow cached in the work dir).
    temporal_weight: float = 0.0
    temporal_feature_weight: float = 0.0
    temporal_video_pairs: int = 30
    # Std of Gaussian pixel noise ([0,1] scale) added to the moved frame of the still-image pairs:
    # real consecutive frames also differ by sensor noise and compression, to which an unstable
    # network answers with new strokes even on a static shot (0 = off).
    temporal_noise: float = 0.0
    # Start from this style file's weights (fine-tuning) instead of a fresh network.
    init_from: str = ""

    @property
    def multi(self) -> bool:
        return bool(self.styles)

    def names(self) -> tuple[str, ...]:
        """Member names of a multi-style run."""
        return self.style_names or tuple(Path(p).stem for p in self.styles)

    def style_pixels(self) -> int:
        """Long side (px) at which the painting's Gram targets are computed."""
        return round(self.style_size * self.style_scale)

    def training_dict(self) -> dict[str, Any]:
        keep = ("loss_net", "size", "style_size", "batch_size", "steps", "style_weight", "content_weight",
                "tv_weight", "lr", "seed")
        out = {k: getattr(self, k) for k in keep}
        if self.style_scale != 1.0:
            out["style_scale"] = self.style_scale
        if self.temporal_weight or self.temporal_feature_weight:
            out.update(temporal_weight=self.temporal_weight, temporal_feature_weight=self.temporal_feature_weight)
            if self.temporal_noise:
                out["temporal_noise"] = self.temporal_noise
        if self.init_from:
            out["init_from"] = Path(self.init_from).name
        return out



def config_defaults() -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}


def same_run(saved: dict, cfg: TrainConfig) -> bool:
    # Steps may be raised to continue training; everything else must match. Fields added since
    # a state was saved take their defaults, so older interrupted runs still resume.
    skip = ("steps", "checkpoint_every", "preview_every", "preserve_color")

    def norm(d: dict) -> dict:
        return {k: list(v) if isinstance(v, (tuple, list)) else v for k, v in d.items() if k not in skip}

    return norm({**config_defaults(), **saved}) == norm(dataclasses.asdict(cfg))


def config_from_saved(c: dict) -> TrainConfig:
    c = {**config_defaults(), **c}
    return TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in c.items()})


def validate(cfg: TrainConfig) -> None:
    if cfg.preset not in PRESETS:
        raise UserError(f"--preset: expected one of {sorted(PRESETS)}, got {cfg.preset!r}")
    if not 0.0 <= cfg.preserve_color <= 1.0:
        raise UserError(f"--preserve-color: expected a value in [0, 1], got {cfg.preserve_color}")
    if cfg.multi:
        if cfg.style:
            raise UserError(f"expected either one style image or several (multi-style), got style={cfg.style!r} "
                            f"and styles={list(cfg.styles)}")
        missing = [p for p in cfg.styles if not Path(p).is_file()]
        if missing:
            raise UserError(f"--style: expected image files, got missing path {missing[0]}")
        if cfg.style_names and len(cfg.style_names) != len(cfg.styles):
            raise UserError(f"expected one name per style image, got {len(cfg.style_names)} names for "
                            f"{len(cfg.styles)} images")
        try:
            MultiStyleNet(PRESETS["light"], style_names=cfg.names())  # validates the names
        except ValueError as exc:
            raise UserError(f"--style names: {exc}; name images with NAME=PATH") from None
    elif not Path(cfg.style).is_file():
        raise UserError(f"--style: expected an image file, got missing path {cfg.style}")
    if cfg.temporal_weight < 0 or cfg.temporal_feature_weight < 0:
        raise UserError(f"--temporal-weight/--temporal-feature-weight: expected values >= 0, got "
                        f"{cfg.temporal_weight}, {cfg.temporal_feature_weight}")
    if not 0.0 <= cfg.temporal_noise <= 0.5:
        raise UserError(f"--temporal-noise: expected a standard deviation in [0, 0.5], got {cfg.temporal_noise}")
    if cfg.multi and (cfg.temporal_weight or cfg.temporal_feature_weight):
        raise UserError("--temporal-weight: temporal training supports single-style networks only (got several --style)")
    if cfg.init_from and not Path(cfg.init_from).is_file():
        raise UserError(f"--init-from: expected a style file (.safetensors), got missing path {cfg.init_from}")
    if not 0.0 < cfg.style_scale <= 16.0 or not 16 <= cfg.style_pixels() <= 4096:  # also rejects nan
        raise UserError(f"--style-scale: expected a factor in (0, 16] giving a style image of 16-4096 px, got "
                        f"--style-size {cfg.style_size} x {cfg.style_scale:g}")
    if cfg.size < 16 or cfg.batch_size < 1 or cfg.steps < 1:
        raise UserError(f"expected --size >= 16, --batch-size >= 1, --steps >= 1; got {cfg.size}, "
                        f"{cfg.batch_size}, {cfg.steps}")
    # a learning rate above 1 sends Adam's weights to inf/nan at once: a "style" of NaNs was saved
    if not 0.0 < cfg.lr <= 1.0:
        raise UserError(f"--lr: expected a number in (0, 1], got {cfg.lr:g}")
    for name in ("style_weight", "content_weight", "tv_weight"):
        v = getattr(cfg, name)
        if v is not None and not 0.0 <= v <= 1e12:
            raise UserError(f"--{name.replace('_', '-')}: expected a number in [0, 1e12], got {v:g}")
