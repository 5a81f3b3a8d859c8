"""Subcommands owned by the compute library: styles, train, eval, bench."""
from __future__ import annotations

import argparse


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    # Each module adds its own parser; heavy imports happen inside the command functions.
    from models import cli_commands

    cli_commands.register(sub)
