"""Train a feed-forward style network (Johnson, Alahi & Fei-Fei 2016) on one style image.

Loss = content_weight * MSE(content tap) + style_weight * sum Gram MSE (style taps)
     + tv_weight * TV, on a frozen loss network (:mod:`models.lossnets`).
Style Grams are computed once. On CUDA: autocast (bf16 when supported, else fp16 + GradScaler)
and channels_last. State (model, optimizer, step, data-sampler and torch RNG states) is written
atomically every ``checkpoint_every`` steps and on Ctrl-C, and a run restarted with the same
settings resumes from it, reproducing the uninterrupted run (on CPU; bit-exact on CUDA only
modulo cuDNN nondeterminism).
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from models import checkpoint as ckpt
from models.errors import UserError
from models.losses import content_loss, gram, style_loss, tv_loss
from models.lossnets import LossNetwork, build_loss_network
from models.train_data import CropSampler, load_content, read_image_rgb
from models.transformer import PRESETS, TransformerNet, preset as get_preset


# (style_weight, tv_weight) per loss network with the loss conventions of models.losses
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
    work_dir: str = ""  # default: <output>.work

    def training_dict(self) -> dict[str, Any]:
        keep = ("loss_net", "size", "style_size", "batch_size", "steps", "style_weight", "content_weight",
                "tv_weight", "lr", "seed")
        return {k: getattr(self, k) for k in keep}


@dataclass
class TrainResult:
    model: TransformerNet
    losses: list[float] = field(default_factory=list)
    output: Path | None = None
    seconds: float = 0.0
    resumed_from: int = 0


def init_model(cfg: TrainConfig) -> TransformerNet:
    """The seeded initial network (also used by tests to measure the loss before training)."""
    torch.manual_seed(cfg.seed)
    model = TransformerNet(get_preset(cfg.preset))
    with torch.no_grad():
        # Start the output at mid-grey instead of black: with Adam's ~lr-sized steps the last
        # bias would otherwise need thousands of steps to climb to 0.5*value_scale.
        model.deconv3.conv2d.bias.fill_(0.5 * model.config.value_scale)
    return model


def compute_losses(model: TransformerNet, lossnet: LossNetwork, targets: dict[str, torch.Tensor], x: torch.Tensor,
                   cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, content, style, tv) for content batch ``x``."""
    y = model.forward_unclamped(x)
    fy = lossnet(y)
    with torch.no_grad():
        fx = lossnet(x)
    lc = content_loss(fy[lossnet.content_tap], fx[lossnet.content_tap])
    ls = style_loss({k: fy[k] for k in lossnet.style_taps}, targets)
    lt = tv_loss(y.float())
    return cfg.content_weight * lc + cfg.style_weight * ls + cfg.tv_weight * lt, lc, ls, lt


def style_targets(cfg: TrainConfig, net: LossNetwork, device: torch.device) -> dict[str, torch.Tensor]:
    im = read_image_rgb(Path(cfg.style))
    x = torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float().div(255)
    h, w = x.shape[-2:]
    s = cfg.style_size / max(h, w)
    x = F.interpolate(x, size=(max(1, round(h * s)), max(1, round(w * s))), mode="bilinear",
                      antialias=True, align_corners=False)
    with torch.no_grad():
        feats = net(x.to(device))
    return {k: gram(feats[k]).detach() for k in net.style_taps}


def _save_state(path: Path, model: TransformerNet, opt: torch.optim.Optimizer, step: int, sampler: CropSampler, losses: list[float], cfg: TrainConfig) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                "sampler_rng": sampler.gen.get_state(), "torch_rng": torch.get_rng_state(),
                "losses": losses, "config": dataclasses.asdict(cfg)}, tmp)
    os.replace(tmp, path)  # atomic: a crash mid-write leaves the previous state intact


def _same_run(saved: dict, cfg: TrainConfig) -> bool:
    # Steps may be raised to continue training; everything else must match.
    a = {k: v for k, v in saved.items() if k not in ("steps", "checkpoint_every", "preview_every")}
    b = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("steps", "checkpoint_every", "preview_every")}
    b["content"] = list(b["content"])
    a["content"] = list(a.get("content", []))
    return a == b


def train(cfg: TrainConfig, *, progress: bool = True, fresh: bool = False,
          stop_at: int | None = None, on_step: Callable[[int, float], None] | None = None) -> TrainResult:
    """Run (or resume) training; returns the model and per-step total losses.

    ``stop_at`` ends early after that step (saving state, no final export): used by tests to
    simulate an interruption.
    """
    if cfg.preset not in PRESETS:
        raise UserError(f"--preset: expected one of {sorted(PRESETS)}, got {cfg.preset!r}")
    if not Path(cfg.style).is_file():
        raise UserError(f"--style: expected an image file, got missing path {cfg.style}")
    if cfg.size < 16 or cfg.batch_size < 1 or cfg.steps < 1:
        raise UserError(f"expected --size >= 16, --batch-size >= 1, --steps >= 1; got {cfg.size}, "
                        f"{cfg.batch_size}, {cfg.steps}")
    device = torch.device(cfg.device)
    cuda = device.type == "cuda"
    work = Path(cfg.work_dir or (str(cfg.output) + ".work"))
    state_path = work / "state.pt"

    model = init_model(cfg).to(device)
    lossnet = build_loss_network(cfg.loss_net, weights=cfg.loss_weights).to(device)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
        lossnet = lossnet.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sampler = CropSampler(load_content(cfg.content, size=cfg.size, max_frames_per_video=cfg.max_frames_per_video),
                          size=cfg.size, seed=cfg.seed)
    targets = style_targets(cfg, lossnet, device)
    work.mkdir(parents=True, exist_ok=True)  # only once the inputs proved valid
    losses: list[float] = []
    step = 0
    if state_path.exists() and not fresh:
        st = torch.load(state_path, map_location="cpu", weights_only=False)
        if _same_run(st["config"], cfg):
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

    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, desc="train", unit="step")
    t0 = time.perf_counter()
    end = cfg.steps if stop_at is None else min(stop_at, cfg.steps)
    updating = False  # True between opt.step() and the step counter: state is inconsistent there
    try:
        while step < end:
            x = sampler.batch(cfg.batch_size).to(device)
            if cuda:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss, lc, ls, _lt = compute_losses(model, lossnet, targets, x, cfg)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
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
                    _preview(work / f"preview_{step:06d}.png", x[:1], model(x[:1]))
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
        meta = ckpt.make_metadata(
            name=cfg.name or Path(cfg.output).stem, preset=cfg.preset, loss_net=cfg.loss_net,
            training={**cfg.training_dict(), "style_image": Path(cfg.style).name, "device": str(device)},
            style_sha256=ckpt.sha256_file(cfg.style), description=cfg.description, license=cfg.license)
        result.output = ckpt.save_style(cfg.output, model.float().to(memory_format=torch.contiguous_format), meta)
    return result


def _preview(path: Path, x: torch.Tensor, y: torch.Tensor) -> None:
    import cv2
    import numpy as np

    row = torch.cat([x.float(), y.detach().float().clamp(0, 1)], dim=-1)[0]
    arr = (row.permute(1, 2, 0).cpu().numpy() * 255 + 0.5).astype(np.uint8)
    tmp = path.with_name(path.stem + ".tmp.png")
    cv2.imwrite(str(tmp), arr[:, :, ::-1])
    os.replace(tmp, path)


def export_state(state_path: str | os.PathLike, dst: str | os.PathLike, *, half: bool = True,
                 description: str = "", license: str = "", name: str | None = None) -> Path:
    """Write a style checkpoint from a training state file (e.g. to ship an intermediate step)."""
    st = torch.load(str(state_path), map_location="cpu", weights_only=False)
    c = st["config"]
    cfg = TrainConfig(**{**c, "content": tuple(c["content"])})
    model = TransformerNet(get_preset(cfg.preset))
    model.load_state_dict(st["model"])
    meta = ckpt.make_metadata(
        name=name or cfg.name or Path(dst).stem, preset=cfg.preset, loss_net=cfg.loss_net,
        training={**cfg.training_dict(), "steps": int(st["step"]), "style_image": Path(cfg.style).name,
                  "device": cfg.device, "content": [Path(p).name for p in cfg.content]},
        style_sha256=ckpt.sha256_file(cfg.style) if Path(cfg.style).is_file() else "",
        description=description or cfg.description, license=license or cfg.license)
    return ckpt.save_style(dst, model, meta, half=half, sidecar=True)
