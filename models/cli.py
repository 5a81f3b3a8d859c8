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
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
