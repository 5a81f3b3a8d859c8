"""``stylecast video`` end to end: decode into a job, flows, stylize with the chosen method,
write the output. The CLI (offline/cmd_video.py) only parses arguments into a :class:`VideoSpec`.
"""
from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor

from models.errors import UserError
from offline.ruder.config import FastConfig, MultipassConfig, RuderConfig
from offline.ruder.flowcache import FlowCache, make_estimator
from offline.ruder.job import Job, read_png, u8_to_tensor
from offline.ruder.methods import FrameHook, run_multipass, run_ruder
from offline.ruder.methods_fast import run_fast
from offline.ruder.optimize import FrameOptimizer
from offline.ruder.source import check_input, check_output, decode_into, write_output


@dataclass(frozen=True)
class VideoSpec:
    input: str
    output: str
    method: str = "ruder"
    job_dir: str | None = None  # default: OUTPUT.job next to the output
    restart: bool = False
    max_side: int | None = None
    max_frames: int | None = None
    flow: str = "dis"
    device: str = "cpu"
    style_image: str | None = None  # ruder / multipass
    style: str | None = None  # fast: registry name or path
    preserve_color: float | None = None  # fast: None = the style file's own setting (models.nets.color)
    ruder: RuderConfig = field(default_factory=RuderConfig)
    multipass: MultipassConfig = field(default_factory=MultipassConfig)
    fast: FastConfig = field(default_factory=FastConfig)
    pix_fmt: str = "yuv420p"  # H.264 chroma of a video output (models.io.video_write.PIX_FMTS)

    def settings(self) -> dict:
        """Everything that changes the result (the job fingerprint); not the output path."""
        d = {"input": str(Path(self.input).resolve()), "method": self.method, "max_side": self.max_side,
             "max_frames": self.max_frames, "flow": self.flow}
        if self.method == "fast":
            fast = dataclasses.asdict(self.fast)
            if fast["render_scale"] == 1.0 and fast["render_max_side"] is None:  # older jobs keep their fingerprint
                del fast["render_scale"], fast["render_max_side"]
            d.update(style=self.style, fast=fast)
            if self.preserve_color is not None:  # absent otherwise: older jobs keep their fingerprint
                d["preserve_color"] = self.preserve_color
        else:
            d["style_image"] = str(Path(self.style_image).resolve()) if self.style_image else None
            d["cfg"] = dataclasses.asdict(self.ruder if self.method == "ruder" else self.multipass)
            if d["cfg"]["optim"].get("channels_last") is True:  # the default: older jobs keep their fingerprint
                del d["cfg"]["optim"]["channels_last"]
        return d


def build_optimizer(spec: VideoSpec, job: Job, device: torch.device) -> FrameOptimizer:
    from models.losses.networks import build_loss_network

    cfg = (spec.ruder if spec.method == "ruder" else spec.multipass).optim
    if not spec.style_image:
        raise UserError(f"--method {spec.method}: expected --style-image IMG, got none")
    style = u8_to_tensor(read_png(Path(spec.style_image)), device)
    net = build_loss_network(cfg.loss_net, weights=cfg.loss_weights)
    style_taps = list(cfg.style_taps or net.style_taps)
    content_tap = cfg.content_tap or net.content_tap
    if cfg.style_taps is not None or cfg.content_tap is not None:
        net = build_loss_network(cfg.loss_net, weights=cfg.loss_weights,
                                 taps=list(dict.fromkeys([*style_taps, content_tap])))
    net = net.to(device)
    return FrameOptimizer(net, style, cfg, style_taps=style_taps, content_tap=content_tap,
                          content_size=(int(job.meta["height"]), int(job.meta["width"])))


def load_fast_stylizer(name: str | None, device: torch.device,
                       preserve_color: float | None = None) -> Callable[[Tensor], Tensor]:
    from models.styles.registry import DEFAULT_STYLE, load_stylizer

    return load_stylizer(name or DEFAULT_STYLE, device=str(device), dtype=torch.float32, preserve_color=preserve_color)


def warn_if_disk_short(job: Job, spec: VideoSpec) -> str | None:
    """Say (stderr) when the rest of the job probably does not fit on its disk; returns the message."""
    from offline.ruder import disk

    sample = [job.frame_path(i) for i in range(min(job.n_frames, 10))]
    frame_bytes = sum(p.stat().st_size for p in sample) / max(len(sample), 1)
    per_frame = disk.method_counts(spec.method, long_term=spec.ruder.long_term, passes=spec.multipass.passes)
    need = disk.estimate(n_frames=job.n_frames, height=int(job.meta["height"]), width=int(job.meta["width"]),
                         frame_png_bytes=frame_bytes, flows_per_frame=per_frame[0], results_per_frame=per_frame[1])
    done = {name: sum(f.stat().st_size for f in (job.root / name).rglob("*") if f.is_file())
            if (job.root / name).exists() else 0 for name in ("flows", "out")}
    left = disk.DiskEstimate(flows=max(0, need.flows - done["flows"]), results=max(0, need.results - done["out"]))
    msg = disk.warning(job.root, left)
    if msg:
        print(f"stylecast video: {msg}", file=sys.stderr)
    return msg


def stylize_job(spec: VideoSpec, job: Job, device: torch.device, *, stylizer: Callable[[Tensor], Tensor] | None = None,
                optimizer: FrameOptimizer | None = None, on_frame: FrameHook | None = None) -> str:
    """Run (or resume) ``spec.method`` over a decoded job; returns the stage holding the final
    frames. Shared by ``stylecast video`` and the chunks of ``stylecast batch``."""
    flows = FlowCache(job, make_estimator(spec.flow), device)
    if spec.method == "fast":
        return run_fast(job, flows, stylizer or load_fast_stylizer(spec.style, device, spec.preserve_color), spec.fast,
                        device=device, on_frame=on_frame)
    opt = optimizer or build_optimizer(spec, job, device)
    if spec.method == "ruder":
        return run_ruder(job, flows, opt, spec.ruder, device=device, on_frame=on_frame)
    return run_multipass(job, flows, opt, spec.multipass, device=device, on_frame=on_frame)


def run_video(spec: VideoSpec, *, stylizer: Callable[[Tensor], Tensor] | None = None,
              optimizer: FrameOptimizer | None = None, on_frame: FrameHook | None = None) -> Path:
    """Run (or resume) a job and write the output. ``stylizer``/``optimizer`` may be injected."""
    if spec.method not in ("fast", "ruder", "multipass"):
        raise UserError(f"--method: expected fast, ruder or multipass, got {spec.method!r}")
    check_input(spec.input)
    out = check_output(spec.output)
    if spec.method != "fast" and optimizer is None and not spec.style_image:
        raise UserError(f"--method {spec.method}: expected --style-image IMG, got none")
    device = torch.device(spec.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: expected a CUDA GPU, found none")
    if device.type == "cuda":
        # Resumed frames must equal uninterrupted ones: no autotuned / nondeterministic kernels.
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    job = Job(spec.job_dir or out.with_name(out.name + ".job"), spec.settings(), restart=spec.restart)
    decode_into(job, spec.input, max_side=spec.max_side, max_frames=spec.max_frames)
    warn_if_disk_short(job, spec)
    stage = stylize_job(spec, job, device, stylizer=stylizer, optimizer=optimizer, on_frame=on_frame)
    audio = spec.input if Path(spec.input).is_file() else None
    return write_output(job, stage, out, audio_from=audio, pix_fmt=spec.pix_fmt)
