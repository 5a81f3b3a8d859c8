"""The ``stylecast`` console command.

Subcommands live with the package that does the work and are discovered through the
``stylecast.commands`` entry-point group (see pyproject.toml): each entry is a
``register(subparsers)`` callable that adds parsers whose ``func(args) -> int | None`` runs the
command. User mistakes raise :class:`models.errors.UserError` and print as one line.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from importlib.metadata import entry_points
from typing import Sequence

from models.errors import UserError

# Fallback when running from a source tree that was never pip-installed.
_BUILTIN = ("models.commands:register", "stream.commands:register", "offline.commands:register")


def _registrars() -> list[str]:
    found = [f"{e.value}" for e in entry_points(group="stylecast.commands")]
    return found or list(_BUILTIN)


def unit_float(text: str) -> float:
    """argparse ``type``: a number in [0, 1]."""
    try:
        v = float(text)
    except ValueError:
        v = -1.0
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return v


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default: appended as ``(default: X)`` unless the text
    already names one (many say *why* a default is what it is). ``None``, ``False`` and empty
    lists mean "off / not given" and are not shown."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        d = action.default
        shown = d is not argparse.SUPPRESS and d is not None and d is not False and d != [] and d != "" \
            and not isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))
        if shown and action.option_strings and "default" not in text:
            text += " (default: %(default)s)"
        return text


def device_arg(text: str) -> str:
    """argparse ``type`` for ``--device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    v = text.strip().lower()
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
        return v
    raise argparse.ArgumentTypeError(f"expected auto, cpu, cuda or cuda:N, got {text!r}")


def add_device(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device`` with the same values and meaning in every command (models.devices.pick_device)."""
    p.add_argument("--device", type=device_arg, default="auto", metavar="{auto,cpu,cuda,cuda:N}",
                   help="where the networks run: auto = the first CUDA GPU when torch sees one, else the CPU; "
                        "cuda without a GPU is an error (default: auto)")


def add_preserve_color(p: argparse.ArgumentParser) -> None:
    """``--preserve-color [AMOUNT]`` for commands that render a trained style (models.color)."""
    p.add_argument("--preserve-color", type=unit_float, nargs="?", const=1.0, default=None, metavar="AMOUNT",
                   help="keep the input's colours, taking only the luminance from the style (Gatys et al. 2016); "
                        "AMOUNT 0..1 (1 when given alone; 0 turns off a style that keeps colours by default; "
                        "default: what the style file says, see `stylecast styles`)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stylecast",
        description="Live and recorded neural style transfer.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for spec in sorted(set(_registrars())):
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:  # a package may be absent in a partial install
            if os.environ.get("STYLECAST_DEBUG"):
                raise
            print(f"stylecast: warning: subcommands of {module_name} unavailable ({exc})", file=sys.stderr)
            continue
        getattr(module, attr)(sub)
    parser.formatter_class = HelpFormatter
    for p in sub.choices.values():  # one rule for every subcommand's help, set in one place
        p.formatter_class = HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        rc = args.func(args)
    except UserError as exc:
        if args.verbose:
            raise
        print(f"stylecast {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\nstylecast {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `stylecast styles | head`: the reader went away; no traceback, and stop Python's own
        # flush at exit from raising again on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
