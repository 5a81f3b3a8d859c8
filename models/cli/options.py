"""Command-line options shared by the commands of several packages (argparse types and helpers)."""
from __future__ import annotations

import argparse


def unit_float(text: str) -> float:
    """argparse ``type``: a number in [0, 1]."""
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return v


def add_preserve_color(p: argparse.ArgumentParser) -> None:
    """``--preserve-color [AMOUNT]`` for commands that render a trained style (models.nets.color)."""
    p.add_argument("--preserve-color", type=unit_float, nargs="?", const=1.0, default=None, metavar="AMOUNT",
                   help="keep the input's colours, taking only the luminance from the style (Gatys et al. 2016); "
                        "AMOUNT 0..1 (1 when given alone; 0 turns off a style that keeps colours by default; "
                        "default: what the style file says, see `stylecast styles`)")
