"""Command-line options shared by the commands of several packages (argparse types and helpers)."""
from __future__ import annotations

import argparse
import math


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
    """``--preserve-color [AMOUNT]`` for commands that render a trained style (models.nets.color)."""
    p.add_argument("--preserve-color", type=unit_float, nargs="?", const=1.0, default=None, metavar="AMOUNT",
                   help="keep the input's colours, taking only the luminance from the style (Gatys et al. 2016); "
                        "AMOUNT 0..1 (1 when given alone; 0 turns off a style that keeps colours by default; "
                        "default: what the style file says, see `stylecast styles`)")


def add_pix_fmt(p: argparse.ArgumentParser) -> None:
    """``--pix-fmt`` for commands that write H.264 (models.io.video_write)."""
    p.add_argument("--pix-fmt", choices=("yuv420p", "yuv444p"), default="yuv420p",
                   help="H.264 chroma of a video output: yuv420p plays everywhere (odd sizes are padded to even); "
                        "yuv444p keeps full chroma and the exact size, but many browsers and players cannot "
                        "play it (default: yuv420p)")


MAX_THREADS = 1024  # more is a typo, not a machine: each would be an OS thread of torch's pool


def add_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads on a CPU (default: 1, and 1 OpenCV thread, on a machine with at most 2 cores, "
                        "where the network of the next frame and the blend of this one run side by side; else "
                        "torch's default; OMP_NUM_THREADS is respected)")


def apply_cpu_threads(requested: int | None, device: object) -> str | None:
    """Set torch's thread count for a CPU run (``--threads``, else the default above; on <= 2 cores
    OpenCV's too); returns a line saying what was chosen, None when torch's own default stands.
    Why 1 on 2 cores: the live path overlaps two threads of work (models.engine) plus the flow
    worker, and a 2-thread network on top of them oversubscribes the cores (docs/bench/render_scale.md §9c)."""
    import os

    import torch

    from models.errors import UserError

    if requested is not None and not 1 <= requested <= MAX_THREADS:
        raise UserError(f"--threads: expected 1..{MAX_THREADS}, got {requested}")
    if getattr(device, "type", str(device)) != "cpu":
        return None
    n = requested
    if n is None and "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        n = 1 if cores <= 2 else None
        if n is not None:
            import cv2

            torch.set_num_threads(n)
            cv2.setNumThreads(1)  # OpenCV's own pool (DIS, filters) oversubscribes the same way
            return f"threads: 1 torch thread, 1 OpenCV thread ({cores} cores: network and blend overlap; --threads to change)"
    if n is not None:
        torch.set_num_threads(n)
        return f"threads: {n} torch thread{'s' if n > 1 else ''}"
    return None
