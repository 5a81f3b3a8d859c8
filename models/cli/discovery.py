"""Subcommand discovery: every ``cmd_*.py`` module of a package defines ``register(subparsers)``.

Each package that owns commands (``models.cli``, ``stream``, ``offline``) is named once in the
``stylecast.commands`` entry-point group (pyproject.toml); its ``cmd_*`` modules are found here by
name, so adding a command never edits a shared list. Heavy imports (torch models, aiortc, ...)
belong inside the command functions to keep ``stylecast --help`` fast.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil


def register_package(package: str, sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Import ``package`` and let each of its ``cmd_*`` modules add its parser(s) to ``sub``."""
    pkg = importlib.import_module(package)
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{package}.{info.name}").register(sub)
