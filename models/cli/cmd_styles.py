"""``stylecast styles``: list bundled and user styles; import pytorch/examples ``.pth`` files."""
from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("styles", help="list available styles (bundled and user); import .pth styles",
                       description="List the styles that -s/--style accepts: the bundled ones, those in the user "
                                   "styles directory ($STYLECAST_STYLES_DIR) and the members of multi-style networks, "
                                   "with their colour handling and licence. --import-pth converts a PyTorch "
                                   "checkpoint (e.g. from pytorch/examples fast_neural_style) into a user style.")
    p.add_argument("--paths", action="store_true", help="show full paths")
    p.add_argument("--import-pth", metavar="FILE", default=None,
                   help="convert a pytorch/examples fast_neural_style .pth into the user styles dir")
    p.add_argument("--name", default=None, help="name for the imported style (default: file stem)")
    p.add_argument("--preset", default="standard", help="architecture of the imported file (default standard)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from models.styles.registry import BUNDLED_DIR, DEFAULT_STYLE, broken_styles, list_styles, user_styles_dir

    if args.import_pth:
        from models.styles.checkpoint import import_pth
        from models.errors import UserError
        from models.nets.transformer import PRESETS

        if args.preset not in PRESETS:
            raise UserError(f"--preset: expected one of {sorted(PRESETS)}, got {args.preset!r}")
        name = args.name or Path(args.import_pth).stem
        out = import_pth(args.import_pth, user_styles_dir() / f"{name}.safetensors", name=name, preset=args.preset)
        print(f"imported {args.import_pth} -> {out}")
        return 0
    rows = [("NAME", "PRESET", "LOSS NET", "COLOURS", "SOURCE", "PATH")]
    for e in list_styles():
        name = e.name + (" *" if e.name == DEFAULT_STYLE else "")
        colours = "photo" if e.preserve_color == 1.0 else f"photo {e.preserve_color:.0%}" if e.preserve_color else "style"
        rows.append((name, e.preset, e.loss_net or "-", colours, e.source, str(e.path) if args.paths else e.path.name))
    broken = broken_styles()
    for name, path, _reason in broken:
        rows.append((name, "BROKEN", "-", "-", "user" if path.parent != BUNDLED_DIR else "bundled",
                     str(path) if args.paths else path.name))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print("\nCOLOURS: 'photo' styles keep the input's colours (luminance-only transfer); --preserve-color "
          "0..1 overrides it for any style")
    print(f"* default style; user styles directory: {user_styles_dir()} (STYLECAST_STYLES_DIR)")
    for name, path, reason in broken:
        print(f"BROKEN {name} ({path}): {reason}")
    nets = sorted({e.network: e.members for e in list_styles() if e.network}.items())
    for net, members in nets:
        print(f"{net}: multi-style network ({len(members)} styles); blend them live with -s "
              f"{net}:{members[0]}=0.5,{members[-1]}=0.5")
    return 0
