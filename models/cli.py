"""The ``stylecast`` console command.

Subcommands live with the package that does the work and are discovered through the
``stylecast.commands`` entry-point group (see pyproject.toml): each entry is a
``register(subparsers)`` callable that adds parsers whose ``func(args) -> int | None`` runs the
command. User mistakes raise :class:`models.errors.UserError` and print as one line.
"""
from __future__ import annotations

import argparse
import importlib
import math
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


INT_LIMIT = 2**31 - 1  # no count, size or port of ours is larger; bigger ints overflow C code later


def finite_float(text: str) -> float:
    """argparse ``type`` for every float option: a finite number (no nan, inf, 1e400)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def bounded_int(text: str) -> int:
    """argparse ``type`` for every int option: an integer of at most 10 digits (|n| < 2**31)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if abs(v) > INT_LIMIT:
        raise argparse.ArgumentTypeError(f"expected an integer of magnitude at most {INT_LIMIT}, got {text!r}")
    return v


def port_int(text: str) -> int:
    v = bounded_int(text)
    if not 1 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port in 1..65535, got {text!r}")
    return v


def harden_numbers(parser: argparse.ArgumentParser) -> None:
    """Give every ``type=float`` / ``type=int`` option of ``parser`` and its subcommands the
    checked types above, in one place, so no command sees nan, inf or a 400-digit integer
    (they ended in OverflowError tracebacks deep inside; issue 20)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in set(action.choices.values()):
                harden_numbers(sub)
        elif action.type is float:
            action.type = finite_float
        elif action.type is int:
            action.type = port_int if action.dest == "port" else bounded_int


def add_preserve_color(p: argparse.ArgumentParser) -> None:
    """``--preserve-color [AMOUNT]`` for commands that render a trained style (models.color)."""
    p.add_argument("--preserve-color", type=unit_float, nargs="?", const=1.0, default=None, metavar="AMOUNT",
                   help="keep the input's colours, taking only the luminance from the style (Gatys et al. 2016); "
                        "AMOUNT 0..1 (1 when given alone; 0 turns off a style that keeps colours by default; "
                        "default: what the style file says, see `stylecast styles`)")


def add_pix_fmt(p: argparse.ArgumentParser) -> None:
    """``--pix-fmt`` for commands that write H.264 (models.media_write)."""
    p.add_argument("--pix-fmt", choices=("yuv420p", "yuv444p"), default="yuv420p",
                   help="H.264 chroma of a video output: yuv420p plays everywhere (odd sizes are padded to even); "
                        "yuv444p keeps full chroma and the exact size, but many browsers and players cannot "
                        "play it (default: yuv420p)")


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
    harden_numbers(parser)
    return parser


def _show_as_line(command: str):  # type: ignore[no-untyped-def]
    """A ``warnings.showwarning`` printing our :class:`models.errors.UserWarning_` as one line
    (no source line, no path), above any progress bar; other warnings keep Python's format."""
    import warnings

    from models.errors import UserWarning_

    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
        if not issubclass(category, UserWarning_):
            return previous(message, category, filename, lineno, file, line)
        from tqdm import tqdm

        tqdm.write(f"stylecast {command}: warning: {message}", file=sys.stderr)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    from models.errors import UserWarning_

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    with warnings.catch_warnings():  # restores the filters and showwarning on return
        # "default": each distinct warning once per command (changing the filters also resets
        # Python's once-per-location memory, so a second main() in one process warns again)
        warnings.simplefilter("default", UserWarning_)
        warnings.showwarning = _show_as_line(args.command)
        return _main(args)


def _main(args: argparse.Namespace) -> int:
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
