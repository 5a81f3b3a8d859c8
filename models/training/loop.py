"""Train a feed-forward style network (Johnson, Alahi & Fei-Fei 2016) on one style image, or one
multi-style network (conditional instance norm, Dumoulin, Shlens & Kudlur 2017) on several.

Loss = content_weight * MSE(content tap) + style_weight * sum Gram MSE (style taps)
     + tv_weight * TV, on a frozen loss network (:mod:`models.losses.networks`).
Style Grams are computed once. On CUDA: autocast (bf16 when supported, else fp16 + GradScaler),
NCHW (channels_last measured slower, see below). State (model, optimizer, step, data-sampler and
torch RNG states) is written
atomically every ``checkpoint_every`` steps and on Ctrl-C, and a run restarted with the same
settings resumes from it, reproducing the uninterrupted run (on CPU; bit-exact on CUDA only
modulo cuDNN nondeterminism).

Multi-style (``TrainConfig.styles``): the same losses, loss network and options; batch element
``i`` of step ``t`` trains style ``(t*batch + i) mod N`` (cycled, so every style gets the same
number of samples and the assignment is a function of the step: resume stays exact), against
that style's Gram targets, which are computed once for all styles. Dumoulin et al. likewise
train all styles jointly, sharing the convolutions.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

import torch
import torch.nn.functional as F

from models.styles import checkpoint as ckpt
from models.errors import UserError
from models.losses.functional import content_loss, gram, style_loss, tv_loss
from models.losses.networks import LossNetwork, build_loss_network
from models.nets.multistyle import MultiStyleNet
from models.training.config import DEFAULT_WEIGHTS, TrainConfig, config_from_saved, same_run, validate
from models.training.data import CropSampler, load_content, read_image_rgb
from models.nets.transformer import TransformerNet, preset as get_preset
from models.io.atomic import atomic_path

__all__ = ["DEFAULT_WEIGHTS", "TrainConfig", "TrainResult", "export_state", "train"]

StyleNet = Union[TransformerNet, MultiStyleNet]


@dataclass
class TrainResult:
    model: StyleNet
    losses: list[float] = field(default_factory=list)
    output: Path | None = None
    seconds: float = 0.0
    resumed_from: int = 0


def new_model(cfg: TrainConfig) -> StyleNet:
    """The architecture ``cfg`` trains (default init, global RNG)."""
    if cfg.multi:
        return MultiStyleNet(get_preset(cfg.preset), style_names=cfg.names())
    return TransformerNet(get_preset(cfg.preset))


def init_model(cfg: TrainConfig) -> StyleNet:
    """The seeded initial network (also used by tests to measure the loss before training)."""
    torch.manual_seed(cfg.seed)
    model = new_model(cfg)
    with torch.no_grad():
        # Start the output at mid-grey instead of black: with Adam's ~lr-sized steps the last
        # bias would otherwise need thousands of steps to climb to 0.5*value_scale.
        model.deconv3.conv2d.bias.fill_(0.5 * model.config.value_scale)
    return model


def compute_losses(model: StyleNet, lossnet: LossNetwork, targets: dict[str, torch.Tensor], x: torch.Tensor,
                   cfg: TrainConfig, mix: torch.Tensor | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, content, style, tv) for content batch ``x``.

    Multi-style: ``mix`` ``(N, n_styles)`` conditions the network and ``targets[tap]`` holds
    one Gram per batch element ``(N,C,C)`` (see :func:`batch_styles`).
    """
    y = model.forward_unclamped(x) if mix is None else model.forward_unclamped(x, mix)  # type: ignore[call-arg]
    fy = lossnet(y)
    with torch.no_grad():
        fx = lossnet(x)
    lc = content_loss(fy[lossnet.content_tap], fx[lossnet.content_tap])
    ls = style_loss({k: fy[k] for k in lossnet.style_taps}, targets)
    lt = tv_loss(y.float())
    return cfg.content_weight * lc + cfg.style_weight * ls + cfg.tv_weight * lt, lc, ls, lt


def image_grams(path: str | os.PathLike, style_size: int, net: LossNetwork, device: torch.device) -> dict[str, torch.Tensor]:
    """``{tap: (1,C,C)}`` Gram targets of one style image scaled to ``style_size`` long side."""
    im = read_image_rgb(Path(path))
    x = torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float().div(255)
    h, w = x.shape[-2:]
    s = style_size / max(h, w)
    x = F.interpolate(x, size=(max(1, round(h * s)), max(1, round(w * s))), mode="bilinear",
                      antialias=True, align_corners=False)
    with torch.no_grad():
        feats = net(x.to(device))
    return {k: gram(feats[k]).detach() for k in net.style_taps}


def style_targets(cfg: TrainConfig, net: LossNetwork, device: torch.device) -> dict[str, torch.Tensor]:
    """Gram targets: ``{tap: (1,C,C)}``, or ``{tap: (n_styles,C,C)}`` for a multi-style run."""
    if not cfg.multi:
        return image_grams(cfg.style, cfg.style_pixels(), net, device)
    per_style = [image_grams(p, cfg.style_pixels(), net, device) for p in cfg.styles]
    return {k: torch.cat([g[k] for g in per_style]) for k in net.style_taps}


def batch_styles(step: int, batch: int, n_styles: int) -> torch.Tensor:
    """Style index of each element of the batch that step ``step`` (0-based) trains: cycled."""
    return (step * batch + torch.arange(batch)) % n_styles


def batch_condition(cfg: TrainConfig, step: int, targets: dict[str, torch.Tensor], device: torch.device
                    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
    """(mix or None, per-element targets) for step ``step``; single-style runs pass through."""
    if not cfg.multi:
        return None, targets
    n = len(cfg.styles)
    idx = batch_styles(step, cfg.batch_size, n).to(device)
    mix = F.one_hot(idx, n).float()
    return mix, {k: g[idx] for k, g in targets.items()}


def _save_state(path: Path, model: StyleNet, opt: torch.optim.Optimizer, step: int, sampler: CropSampler, losses: list[float], cfg: TrainConfig) -> None:
    with atomic_path(path) as tmp:  # a crash mid-write leaves the previous state intact
        torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "sampler_rng": sampler.gen.get_state(), "torch_rng": torch.get_rng_state(),
                    "losses": losses, "config": dataclasses.asdict(cfg)}, tmp)


def train(cfg: TrainConfig, *, progress: bool = True, fresh: bool = False,
          stop_at: int | None = None, on_step: Callable[[int, float], None] | None = None,
          members: dict[str, dict[str, str]] | None = None) -> TrainResult:
    """Run (or resume) training; returns the model and per-step total losses.

    ``stop_at`` ends early after that step (saving state, no final export): used by tests to
    simulate an interruption. ``members``: per-style ``{"description", "license"}`` written into
    a multi-style checkpoint (metadata only: not part of the resumable settings).
    """
    validate(cfg)
    unknown = sorted(set(members or {}) - set(cfg.names() if cfg.multi else ()))
    if unknown:
        raise UserError(f"style descriptions: unknown style {unknown[0]!r}; expected names from "
                        f"{list(cfg.names()) if cfg.multi else '(none: single-style run)'}")
    device = torch.device(cfg.device)
    cuda = device.type == "cuda"
    work = Path(cfg.work_dir or (str(cfg.output) + ".work"))
    state_path = work / "state.pt"

    model = init_model(cfg)
    if cfg.init_from:
        _load_init(model, cfg.init_from)
    model = model.to(device)
    lossnet = build_loss_network(cfg.loss_net, weights=cfg.loss_weights).to(device)
    # No channels_last on CUDA: on an H100 (bench/train_speed.py, standard net, 256 px, batch 64,
    # bf16) it cost 13 % with EfficientNet-Lite0 (709 -> 619 img/s; depthwise convs and instance
    # norm have no fast NHWC kernels) and 2 % with VGG19 (508 -> 496).
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sampler = CropSampler(load_content(cfg.content, size=cfg.size, max_frames_per_video=cfg.max_frames_per_video),
                          size=cfg.size, seed=cfg.seed)
    targets = style_targets(cfg, lossnet, device)
    work.mkdir(parents=True, exist_ok=True)  # only once the inputs proved valid
    temporal = None
    if cfg.temporal_weight or cfg.temporal_feature_weight:
        from models.training.temporal import TemporalTerm

        temporal = TemporalTerm(model, cfg, cache_dir=work / "flow_cache")
    losses: list[float] = []
    step = 0
    if state_path.exists() and not fresh:
        st = torch.load(state_path, map_location="cpu", weights_only=False)
        if same_run(st["config"], cfg):
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["optimizer"])
            sampler.gen.set_state(st["sampler_rng"])
            torch.set_rng_state(st["torch_rng"])
            step, losses = int(st["step"]), list(st["losses"])
        else:
            raise UserError(f"{state_path}: an interrupted run with different settings exists; "
                            f"expected the same settings to resume, or pass --fresh to start over")
    resumed_from = step

    amp_dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if cuda else None
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    from tqdm import tqdm

    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc="training", unit="step")
    t0 = time.perf_counter()
    end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
    updating = False  # True between opt.step() and the step counter: state is inconsistent there
    try:
        while step < end:
            x = sampler.batch(cfg.batch_size).to(device)
            mix, step_targets = batch_condition(cfg, step, targets, device)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss, lc, ls, _lt = compute_losses(model, lossnet, step_targets, x, cfg, mix)
                if temporal is not None:
                    t_out, t_feat = temporal(step, x)
                    loss = loss + cfg.temporal_weight * t_out + cfg.temporal_feature_weight * t_feat
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            # Stop before the update: one NaN step would poison the weights and, at the next
            # checkpoint, the saved state (a CPU multi-style run diverged at step 7751 this way).
            # A finite loss can still give an overflowing gradient (see train_data.is_flat).
            # With fp16 the GradScaler already skips such steps.
            if not scaler.is_enabled() and not (torch.isfinite(loss.detach()) and _grads_finite(model)):
                bar.close()
                what = f"loss {float(loss.detach())}" if not torch.isfinite(loss.detach()) else \
                    f"non-finite gradient, loss {float(loss.detach()):.4g}"
                raise UserError(f"training diverged at step {step + 1} ({what}); the last saved state in "
                                f"{state_path} is unaffected; rerun with a lower --lr and --fresh")
            updating = True
            scaler.step(opt)
            scaler.update()
            step += 1
            losses.append(float(loss.detach()))
            updating = False
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4g}", content=f"{float(lc.detach()):.3g}", style=f"{float(ls.detach()):.3g}")
            if on_step:
                on_step(step, losses[-1])
            if step % cfg.checkpoint_every == 0 or step == end:
                _save_state(state_path, model, opt, step, sampler, losses, cfg)
            if cfg.preview_every and step % cfg.preview_every == 0:
                with torch.no_grad():
                    _preview(work / f"preview_{step:06d}.png", x[:1], _preview_outputs(model, x[:1]))
    except KeyboardInterrupt:
        bar.close()
        if updating:  # interrupted inside an update: keep the last periodic state instead
            raise UserError(f"interrupted during step {step + 1}; resume from the last saved state in "
                            f"{state_path} by rerunning the same command") from None
        _save_state(state_path, model, opt, step, sampler, losses, cfg)
        raise UserError(f"interrupted at step {step}; state saved in {state_path}; "
                        f"rerun the same command to resume") from None
    bar.close()
    result = TrainResult(model=model, losses=losses, seconds=time.perf_counter() - t0, resumed_from=resumed_from)
    if step >= cfg.steps:
        meta = _export_metadata(cfg, name=cfg.name or Path(cfg.output).stem, steps=step, device=str(device),
                                members=members)
        result.output = ckpt.save_style(cfg.output, model.float().to(memory_format=torch.contiguous_format), meta)
    return result


def _load_init(model: StyleNet, path: str) -> None:
    """Fine-tuning: start from a style file's weights (same architecture required)."""
    src, meta = ckpt.load_style(path)
    if src.config != model.config:
        raise UserError(f"--init-from {path}: network {src.config.to_dict()} (preset {meta.get('preset')!r}) does not "
                        f"match the --preset being trained {model.config.to_dict()}")
    model.load_state_dict({k: v.float() for k, v in src.state_dict().items()})


def _grads_finite(model: torch.nn.Module) -> bool:
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()) if grads else True


def _export_metadata(cfg: TrainConfig, *, name: str, steps: int, device: str, description: str = "",
                     license: str = "", extra: dict[str, Any] | None = None,
                     members: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    training = {**cfg.training_dict(), "steps": steps, "device": device, **(extra or {})}
    description, license = description or cfg.description, license or cfg.license
    colour = {"preserve_color": cfg.preserve_color} if cfg.preserve_color else {}
    if not cfg.multi:
        return {**ckpt.make_metadata(
            name=name, preset=cfg.preset, loss_net=cfg.loss_net,
            training={**training, "style_image": Path(cfg.style).name},
            style_sha256=ckpt.sha256_file(cfg.style) if Path(cfg.style).is_file() else "",
            description=description, license=license), **colour}
    members = members or {}
    unknown = sorted(set(members) - set(cfg.names()))
    if unknown:
        raise UserError(f"style descriptions: unknown style {unknown[0]!r}; expected names from {list(cfg.names())}")
    styles = [{"name": n, "style_image": Path(p).name,
               "style_sha256": ckpt.sha256_file(p) if Path(p).is_file() else "",
               "description": members.get(n, {}).get("description", ""),
               "license": members.get(n, {}).get("license", license)}
              for n, p in zip(cfg.names(), cfg.styles)]
    return {**ckpt.make_multistyle_metadata(name=name, preset=cfg.preset, loss_net=cfg.loss_net, styles=styles,
                                            training={**training, "style_order": "cycled per batch element"},
                                            description=description, license=license), **colour}


def _preview_outputs(model: StyleNet, x: torch.Tensor) -> torch.Tensor:
    """``model(x)``; for a multi-style network one output per style, side by side."""
    if not isinstance(model, MultiStyleNet):
        return model(x)
    eye = torch.eye(model.n_styles, device=x.device)
    return torch.cat([model(x, eye[k:k + 1]) for k in range(model.n_styles)], dim=-1)


def _preview(path: Path, x: torch.Tensor, y: torch.Tensor) -> None:
    import cv2
    import numpy as np

    row = torch.cat([x.float(), y.detach().float().clamp(0, 1)], dim=-1)[0]
    arr = (row.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    with atomic_path(path, keep_suffix=True) as tmp:  # OpenCV picks the format by suffix
        cv2.imwrite(str(tmp), arr[:, :, ::-1])


def export_state(state_path: str | os.PathLike, dst: str | os.PathLike, *, half: bool = True,
                 description: str = "", license: str = "", name: str | None = None,
                 members: dict[str, dict[str, str]] | None = None, preserve_color: float | None = None) -> Path:
    """Write a style checkpoint from a training state file (e.g. to ship an intermediate step).

    ``members`` (multi-style runs): ``{style: {"description": ..., "license": ...}}`` per member;
    a member without a license gets the network's. ``preserve_color``: what the file asks
    renderers for (:mod:`models.nets.color`; None: the run's setting).
    """
    st = torch.load(str(state_path), map_location="cpu", weights_only=False)
    cfg = config_from_saved(st["config"])
    if preserve_color is not None:
        cfg = dataclasses.replace(cfg, preserve_color=float(preserve_color))
    model = new_model(cfg)
    model.load_state_dict(st["model"])
    meta = _export_metadata(cfg, name=name or cfg.name or Path(dst).stem, steps=int(st["step"]), device=cfg.device,
                            description=description, license=license, members=members,
                            extra={"content": [Path(p).name for p in cfg.content]})
    return ckpt.save_style(dst, model, meta, half=half, sidecar=True)
