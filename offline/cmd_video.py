"""``stylecast video INPUT -o OUTPUT --method {fast,ruder,multipass}``: artistic video stylization
after Ruder, Dosovitskiy & Brox (GCPR 2016 / IJCV 2018), resumable (see docs/offline.md)."""
from __future__ import annotations

import argparse
import os

from models.cli.options import add_device, add_pix_fmt, add_preserve_color


def _offsets(text: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive ints like 1,10,20,40, got {text!r}") from None
    if not vals or any(v < 1 for v in vals):
        raise argparse.ArgumentTypeError(f"expected comma-separated positive ints like 1,10,20,40, got {text!r}")
    return vals


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser(
        "video", help="high-quality offline video stylization (Ruder et al.; fast / per-frame / multi-pass)",
        description="Stylize a video (or a directory of frames) with temporal consistency. "
                    "Work is kept in a job directory (default OUTPUT.job); rerunning the same "
                    "command continues where it stopped with identical results.")
    p.add_argument("input", metavar="INPUT", help="video file or directory of frames (sorted by name)")
    p.add_argument("-o", "--output", required=True, help="output video (.mp4/.mkv/.mov/.m4v) or a new directory for PNG frames")
    add_method_options(p)
    p.add_argument("--job-dir", metavar="DIR", help="job directory (default OUTPUT.job)")
    p.add_argument("--restart", action="store_true", help="discard an existing job directory and start over")
    p.add_argument("--keep-job", action="store_true", help="keep the job directory once the output is written (deleted otherwise)")
    p.set_defaults(func=run)


def add_method_options(p: argparse.ArgumentParser) -> None:
    """The method and its settings, shared by ``video`` and ``batch``."""
    p.add_argument("--method", choices=("fast", "ruder", "multipass"), default="ruder",
                   help="ruder: per-frame optimization with short- and long-term temporal losses (best, slow); "
                        "multipass: several forward/backward passes (Ruder et al. sec. 3.4); fast: a trained "
                        "network plus a bidirectional temporal filter (seconds, not hours)")
    p.add_argument("--style-image", metavar="IMG", help="style image (ruder, multipass)")
    p.add_argument("-s", "--style", metavar="NAME", help="trained style name or checkpoint (fast; default: bundled default)")
    add_preserve_color(p)
    g = p.add_argument_group("optimization (ruder, multipass)")
    g.add_argument("--iterations", type=int, help="iterations per frame (per pass for multipass); default 1000 (ruder), 100 (multipass)")
    g.add_argument("--first-iterations", type=int, help="iterations for the first frame (ruder; default 2000)")
    g.add_argument("--content-weight", type=float, help="weight of the content loss (default: see docs/offline.md)")
    g.add_argument("--style-weight", type=float, help="weight of the Gram style loss (default: see docs/offline.md)")
    g.add_argument("--temporal-weight", type=float,
                   help="weight of the temporal loss; 0 = plain per-frame optimization (baseline) "
                        "(default: see docs/offline.md)")
    g.add_argument("--tv-weight", type=float, help="weight of the total-variation smoothness loss "
                                                   "(default: see docs/offline.md)")
    g.add_argument("--init", choices=("random", "content", "prev-warped"), help="init of frames after the first (ruder, default prev-warped) and of multipass pass 1 (default random: one noise image for all frames)")
    g.add_argument("--optimizer", choices=("lbfgs", "adam"), help="lbfgs (paper, default) or adam (faster on GPU)")
    g.add_argument("--lr", type=float, help="Adam learning rate on the [0,1] scale (default 0.04)")
    g.add_argument("--long-term", type=_offsets, metavar="J", help="earlier-frame offsets for the temporal loss (default 1,10,20,40; 1 = short-term)")
    g.add_argument("--loss-net", choices=("vgg19", "vgg16", "efficientnet_lite0"), help="loss network (default vgg19)")
    g.add_argument("--loss-weights", metavar="PATH", help="loss-network weights file (default: $STYLECAST_VGG19_WEIGHTS)")
    g.add_argument("--seed", type=int, help="random seed of the noise initialisation; the same seed gives "
                                            "the same video (default: 0)")
    m = p.add_argument_group("multipass")
    m.add_argument("--preset", choices=("paper", "fast"), default="paper", help="paper: 15 passes x 100 it, temporal from pass 8; fast: 8 x 50, from 4")
    m.add_argument("--passes", type=int, help="number of passes (default: from --preset)")
    m.add_argument("--temporal-after", type=int, metavar="PASS",
                   help="first pass that uses the temporal loss (default: from --preset)")
    f = p.add_argument_group("fast")
    f.add_argument("--strength", type=float, default=0.7, help="blend strength of the bidirectional temporal filter, 0..1")
    from models.cli.render import add_render_scale

    add_render_scale(f)
    p.add_argument("--flow", choices=("dis", "deepflow"), default="dis", help="optical flow: dis = OpenCV DIS medium, deepflow = DeepFlow (quality, slow) (default: dis)")
    p.add_argument("--max-side", type=int, metavar="N", help="process at most N pixels on the longer side")
    p.add_argument("--max-frames", type=int, metavar="N", help="only the first N frames")
    add_device(p)
    add_pix_fmt(p)


def spec_from_args(args: argparse.Namespace):  # -> VideoSpec
    import dataclasses


    from models.errors import UserError
    from offline.ruder.config import MULTIPASS_PRESETS, FastConfig, RuderConfig
    from offline.ruder.pipeline import VideoSpec

    if args.preserve_color is not None and args.method != "fast":
        raise UserError(f"--preserve-color: expected --method fast (a trained style network), got --method "
                        f"{args.method}; for optimization methods use a colour-matched style image instead")
    optim_keys = {"iterations": "iterations", "first_iterations": "first_iterations", "content_weight": "content_weight",
                  "style_weight": "style_weight", "temporal_weight": "temporal_weight", "tv_weight": "tv_weight",
                  "init": "init", "optimizer": "optimizer", "lr": "lr", "loss_net": "loss_net",
                  "loss_weights": "loss_weights", "seed": "seed"}
    changes = {v: getattr(args, k) for k, v in optim_keys.items() if getattr(args, k) is not None}
    if "loss_weights" not in changes and (args.loss_net or "vgg19") == "vgg19" and os.environ.get("STYLECAST_VGG19_WEIGHTS"):
        changes["loss_weights"] = os.environ["STYLECAST_VGG19_WEIGHTS"]
    try:
        ruder = RuderConfig()
        r_changes = dict(changes)
        if changes.get("temporal_weight") == 0 and args.init is None:
            r_changes["init"] = "random"  # the per-frame baseline of Ruder et al.
        ruder = dataclasses.replace(ruder, optim=dataclasses.replace(ruder.optim, **r_changes))
        if args.long_term:
            ruder = dataclasses.replace(ruder, long_term=args.long_term)
        mp = MULTIPASS_PRESETS[args.preset]
        mp_changes = {k: v for k, v in changes.items() if k != "first_iterations"}
        mp = dataclasses.replace(mp, optim=dataclasses.replace(mp.optim, **mp_changes))
        if args.passes is not None:
            mp = dataclasses.replace(mp, passes=args.passes)
        if args.temporal_after is not None:
            mp = dataclasses.replace(mp, temporal_after=args.temporal_after)
        fast = FastConfig(strength=args.strength, **_render_fields(args))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not 0.0 <= args.strength <= 1.0:
        raise UserError(f"--strength: expected a value in [0,1], got {args.strength}")
    from models.devices import pick_device

    device = pick_device(args.device)
    return VideoSpec(input=args.input, output=args.output, method=args.method, job_dir=args.job_dir,
                     restart=args.restart, max_side=args.max_side, max_frames=args.max_frames, flow=args.flow,
                     device=device, style_image=args.style_image, style=args.style,
                     preserve_color=args.preserve_color, ruder=ruder, multipass=mp, fast=fast,
                     pix_fmt=args.pix_fmt)


def _render_fields(args: argparse.Namespace) -> dict:
    """--render-scale / --render-max-side for --method fast; offline the default is full size
    (quality first: render scale costs style, docs/bench/render_scale.md)."""
    from models.errors import UserError
    from models.cli.render import render_from_args

    if (args.render_scale is not None or args.render_max_side is not None) and args.method != "fast":
        raise UserError(f"--render-scale/--render-max-side: expected --method fast (a trained style network), "
                        f"got --method {args.method}")
    if args.render_scale is None and args.render_max_side is None:
        return {}
    r = render_from_args(args, "cpu")
    return {"render_scale": r.scale, "render_max_side": r.max_side}


def run(args: argparse.Namespace) -> int:
    import shutil
    from pathlib import Path

    from offline.ruder.eta import Eta
    from offline.ruder.pipeline import run_video

    spec = spec_from_args(args)
    job_dir = Path(spec.job_dir or Path(spec.output).with_name(Path(spec.output).name + ".job"))
    out = run_video(spec, on_frame=Eta(spec, job_dir))
    if not args.keep_job:
        shutil.rmtree(job_dir, ignore_errors=True)
    print(f"stylecast video: wrote {out}" + ("" if args.keep_job else f" (job directory {job_dir} deleted; --keep-job keeps it)"))
    return 0
