"""The ``stylecast`` command-line layer: entry point, command discovery, shared options, and the
commands owned by the library (bench, eval, styles, train). The compute library never imports it."""
from models.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
