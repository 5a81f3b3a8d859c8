"""``stylecast train --style IMAGE... --content PATH... -o NAME``: train a style network.

One ``--style``: a single-style network (Johnson et al. 2016). Several: one multi-style network
with conditional instance norm (Dumoulin et al. 2017), its styles named after the image stems
or ``NAME=PATH``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from models.cli.options import add_device, unit_float


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("train", help="train a feed-forward style network on one style image (or several: multi-style)",
                       description="Train a style network (Johnson et al. 2016); with several --style images, one "
                                   "multi-style network (conditional instance norm, Dumoulin et al. 2017) whose "
                                   "styles can be switched and blended live. Rerunning the same command after "
                                   "Ctrl-C or a crash resumes from the last saved state.")
    p.add_argument("--style", required=True, action="extend", nargs="+", metavar="[NAME=]IMAGE",
                   help="style image; repeat (or list several) to train one multi-style network, "
                        "optionally named NAME=IMAGE (default name: the file stem)")
    p.add_argument("--content", required=True, nargs="+", help="content images, folders and/or videos")
    p.add_argument("-o", "--output", required=True,
                   help="style NAME (saved to the user styles dir) or a path ending in .safetensors")
    p.add_argument("--preset", default="light", help="network size: light | standard (default light)")
    p.add_argument("--loss-net", default="efficientnet_lite0", choices=["efficientnet_lite0", "vgg16", "vgg19"],
                   help="network whose features define the content and style losses")
    p.add_argument("--loss-weights", default=None, help="local weights file for vgg16/vgg19 "
                   "(or env STYLECAST_VGG16_WEIGHTS / STYLECAST_VGG19_WEIGHTS)")
    p.add_argument("--size", type=int, default=256, help="training crop size (px)")
    p.add_argument("--style-size", type=int, default=384, help="long side of the style image for its Grams")
    p.add_argument("--style-scale", type=float, default=1.0, metavar="F",
                   help="stroke size: the style image's Grams are taken at F x --style-size, so F=2 paints "
                        "strokes about twice as large (default 1; e.g. 1.5 with --size 320 for 720p output)")
    p.add_argument("--batch-size", type=int, default=4, help="content crops per step")
    p.add_argument("--steps", type=int, default=2000, help="optimizer steps")
    p.add_argument("--style-weight", type=float, default=None,
                   help="weight of the Gram style loss (default: 50 for efficientnet_lite0, 1e5 for vgg16/vgg19)")
    p.add_argument("--content-weight", type=float, default=1.0, help="weight of the content (feature) loss")
    p.add_argument("--tv-weight", type=float, default=None,
                   help="weight of the total-variation smoothness loss (default: 1e-5)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--seed", type=int, default=0, help="random seed (content order, initial weights)")
    add_device(p)
    p.add_argument("--checkpoint-every", type=int, default=200, help="save a resumable state every N steps")
    p.add_argument("--preview-every", type=int, default=200, help="write preview PNGs to <output>.work/")
    p.add_argument("--preserve-color", type=unit_float, nargs="?", const=1.0, default=0.0, metavar="AMOUNT",
                   help="record in the file that the style is rendered with the photo's colours (0..1; "
                        "luminance-only transfer, Gatys et al. 2016); training itself is unchanged")
    p.add_argument("--description", default="", help="description stored in the style file (default: none)")
    p.add_argument("--license", default="", help="licence of the style image, stored in the style file (default: none)")
    p.add_argument("--style-description", action="append", default=[], metavar="NAME=TEXT",
                   help="multi-style: description of one member (repeatable)")
    p.add_argument("--style-license", action="append", default=[], metavar="NAME=TEXT",
                   help="multi-style: license of one member (repeatable; default: --license)")
    p.add_argument("--temporal-weight", type=float, default=0.0, metavar="W",
                   help="temporal training (ReCoNet, Gao et al. 2018): weight of the output temporal loss between "
                        "consecutive frames warped by flow, occlusions masked; pairs from still crops moved by "
                        "known random motion and from the videos among --content (flow computed once, cached)")
    p.add_argument("--temporal-feature-weight", type=float, default=None, metavar="W",
                   help="weight of the feature temporal loss (encoder features; default: --temporal-weight)")
    p.add_argument("--temporal-noise", type=float, default=0.0, metavar="SIGMA",
                   help="add Gaussian noise of this std ([0,1] pixel scale) to the moved still of each synthetic "
                        "temporal pair, so the network also keeps its strokes through sensor noise (default 0)")
    p.add_argument("--init-from", default="", metavar="STYLE",
                   help="fine-tune from this style's weights (a NAME or .safetensors path) instead of a fresh network")
    p.add_argument("--fresh", action="store_true", help="ignore a saved interrupted run and start over")
    p.set_defaults(func=run)


def parse_style_arg(arg: str) -> tuple[str, str]:
    """``IMAGE`` or ``NAME=IMAGE`` -> (name, path); an existing file named with '=' is a path."""
    if "=" in arg and not Path(arg).is_file():
        name, _, path = arg.partition("=")
        return name.strip(), path
    return Path(arg).stem, arg


def _member_info(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    from models.errors import UserError

    out: dict[str, dict[str, str]] = {}
    for key, items in (("description", args.style_description), ("license", args.style_license)):
        for item in items:
            name, sep, text = item.partition("=")
            if not sep or not name.strip():
                raise UserError(f"--style-{key}: expected NAME=TEXT, got {item!r}")
            out.setdefault(name.strip(), {})[key] = text
    return out


def run(args: argparse.Namespace) -> int:
    from models.errors import UserError
    from models.styles.registry import resolve_style, user_styles_dir
    from models.training.loop import DEFAULT_WEIGHTS, TrainConfig, train

    out = Path(args.output)
    if out.suffix != ".safetensors":
        if out.suffix or len(out.parts) > 1:
            raise UserError(f"-o: expected a style NAME or a path ending in .safetensors, got {args.output}")
        out = user_styles_dir() / f"{args.output}.safetensors"
    styles = [parse_style_arg(a) for a in args.style]
    members = _member_info(args)
    if len(styles) == 1 and members:
        raise UserError("--style-description/--style-license: expected several --style images (multi-style), got one")
    from models.devices import pick_device

    device = pick_device(args.device)
    sw, tw = DEFAULT_WEIGHTS.get(args.loss_net, (1e5, 1e-5))
    multi = len(styles) > 1
    cfg = TrainConfig(style="" if multi else styles[0][1], content=tuple(args.content), output=str(out), name=out.stem,
                      preset=args.preset, loss_net=args.loss_net, loss_weights=args.loss_weights, size=args.size,
                      style_size=args.style_size, style_scale=args.style_scale, batch_size=args.batch_size, steps=args.steps,
                      style_weight=args.style_weight if args.style_weight is not None else sw,
                      content_weight=args.content_weight, tv_weight=args.tv_weight if args.tv_weight is not None else tw,
                      lr=args.lr, seed=args.seed, device=device, checkpoint_every=args.checkpoint_every,
                      preview_every=args.preview_every, description=args.description, license=args.license,
                      preserve_color=args.preserve_color,
                      styles=tuple(p for _, p in styles) if multi else (),
                      style_names=tuple(n for n, _ in styles) if multi else (),
                      temporal_weight=args.temporal_weight,
                      temporal_noise=args.temporal_noise,
                      temporal_feature_weight=(args.temporal_weight if args.temporal_feature_weight is None
                                               else args.temporal_feature_weight),
                      init_from=str(resolve_style(args.init_from)) if args.init_from else "")
    res = train(cfg, fresh=args.fresh, members=members or None)
    kind = f"multi-style network ({', '.join(cfg.names())})" if multi else "style"
    print(f"saved {kind} {res.output} ({len(res.losses)} steps, final loss {res.losses[-1]:.4g}, {res.seconds:.0f} s)")
    return 0
