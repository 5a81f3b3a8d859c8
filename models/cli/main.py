"""The ``stylecast`` console command.

Subcommands live with the package that does the work: each package that owns commands is named in
the ``stylecast.commands`` entry-point group (see pyproject.toml) and its ``cmd_*`` modules are
found by :mod:`models.cli.discovery`; each adds parsers whose ``func(args) -> int | None`` runs
the command. User mistakes raise :class:`models.errors.UserError` and print as one line.
"""
from __future__ import annotations

import argparse
import os
import sys
from importlib.metadata import entry_points
from typing import Sequence

from models.cli.discovery import register_package
from models.cli.options import HelpFormatter, harden_numbers
from models.errors import UserError

# Fallback when running from a source tree that was never pip-installed.
_BUILTIN = ("models.cli", "stream", "offline")


def _command_packages() -> list[str]:
    found = [e.value for e in entry_points(group="stylecast.commands")]
    return found or list(_BUILTIN)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stylecast",
        description="Live and recorded neural style transfer.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for package in sorted(set(_command_packages())):
        try:
            register_package(package, sub)
        except ImportError as exc:  # a package may be absent in a partial install
            if os.environ.get("STYLECAST_DEBUG"):
                raise
            print(f"stylecast: warning: subcommands of {package} unavailable ({exc})", file=sys.stderr)
    harden_numbers(parser)
    parser.formatter_class = HelpFormatter
    for p in sub.choices.values():  # one rule for every subcommand's help, set in one place
        p.formatter_class = HelpFormatter
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
