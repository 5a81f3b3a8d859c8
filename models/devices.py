"""Choosing the compute device for a command: one rule for every subcommand."""
from __future__ import annotations

import torch

from models.errors import UserError


def pick_device(requested: str | None) -> str:
    """``None``/``"auto"`` -> ``"cuda"`` when torch sees a GPU, else ``"cpu"``; an explicit
    ``cuda``/``cuda:N`` without CUDA is a :class:`UserError` (never a silent CPU run)."""
    if requested in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {requested}: expected a CUDA GPU, found none (use --device cpu)")
    return requested


def device_note(device: str, requested: str | None = "auto") -> str:
    """One line saying which device runs the work, and that it is a CPU fallback when it is (that
    is, when ``requested`` was ``auto``; an explicit ``--device cpu`` is no fallback)."""
    if device.startswith("cuda"):
        return f"using GPU {torch.cuda.get_device_name(torch.device(device))}"
    if requested in (None, "", "auto") and not torch.cuda.is_available():
        return "no CUDA GPU found: falling back to CPU (works, just slower)"
    return "using CPU"
