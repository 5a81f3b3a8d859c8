"""Subcommands owned by the `stream` package.

Every module `stream/cmd_*.py` defines `register(subparsers)` adding its parser(s); they are found
here by name so that adding a command never edits a shared list. Heavy imports (torch models,
aiortc, ...) belong inside the command functions to keep `stylecast --help` fast.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{__package__}.{info.name}").register(sub)
