"""Parsers for the models/ subcommands (filled in by the modules that do the work)."""
from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    pass
