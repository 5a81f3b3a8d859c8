"""``stylecast styles``: list bundled and user styles."""
from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("styles", help="list available styles (bundled and user)")
    p.add_argument("--paths", action="store_true", help="show full paths")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from models.registry import DEFAULT_STYLE, list_styles, user_styles_dir

    entries = list_styles()
    rows = [("NAME", "PRESET", "LOSS NET", "SOURCE", "PATH")]
    for e in entries:
        name = e.name + (" *" if e.name == DEFAULT_STYLE else "")
        rows.append((name, e.preset, e.loss_net or "-", e.source, str(e.path) if args.paths else e.path.name))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"\n* default style; user styles directory: {user_styles_dir()} (STYLECAST_STYLES_DIR)")
    return 0
