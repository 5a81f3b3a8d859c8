"""Parity check: a compiled / reduced-precision backend must reproduce fp32 eager before serving.

Compilers can silently change results (wrong fusion, fp16 overflow in instance-norm statistics on
the network's 0..255 internal scale, a stale engine from a cache). So every backend other than
the fp32 eager reference is run on the same deterministic image-like input and compared with
fp32 eager on the same device. Output is RGB in [0,1], so PSNR uses peak 1.0.

Thresholds (stated, conservative; the GPU bench prints the measured values so they can be
tightened): fp32 backends need PSNR >= 45 dB and max abs error <= 0.02 (5/255);
fp16 / bf16 backends need PSNR >= 32 dB (about 1/40 of the range RMS) and max abs <= 0.25
(a few pixels near the tanh/clamp saturation may move a lot; a broken backend moves all of them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


@dataclass(frozen=True)
class ParityThresholds:
    min_psnr_db: float
    max_abs: float

    @staticmethod
    def for_dtype(dtype: torch.dtype) -> "ParityThresholds":
        if dtype in (torch.float32, torch.float64):
            return ParityThresholds(min_psnr_db=45.0, max_abs=0.02)
        return ParityThresholds(min_psnr_db=32.0, max_abs=0.25)


@dataclass(frozen=True)
class ParityReport:
    psnr_db: float
    max_abs: float
    thresholds: ParityThresholds
    passed: bool
    reason: str

    def summary(self) -> str:
        return (
            f"PSNR {self.psnr_db:.1f} dB (>= {self.thresholds.min_psnr_db}), "
            f"max abs {self.max_abs:.4f} (<= {self.thresholds.max_abs})"
        )


def parity_input(batch: int, height: int, width: int, *, device: torch.device | str = "cpu", seed: int = 0) -> Tensor:
    """Deterministic image-like ``(batch,3,H,W)`` float32 in [0,1]: smooth colour gradients, a few
    soft discs and edges, mild noise. Generated on CPU (same values on every device), then moved."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.linspace(0, 1, height)[:, None].expand(height, width)
    xs = torch.linspace(0, 1, width)[None, :].expand(height, width)
    frames = []
    for _ in range(batch):
        phase = torch.rand(3, generator=g) * 6.28
        base = torch.stack([0.5 + 0.4 * torch.sin(3.0 * xs + 2.0 * ys + p) for p in phase])
        for _ in range(4):
            cx, cy, r = torch.rand(3, generator=g)
            disc = (((xs - cx) ** 2 + (ys - cy) ** 2) < (0.05 + 0.2 * r) ** 2).float()
            colour = torch.rand(3, 1, 1, generator=g)
            base = base * (1 - disc) + colour * disc
        base = base + 0.03 * torch.randn(3, height, width, generator=g)
        frames.append(base.clamp(0, 1))
    return torch.stack(frames).to(device)


def psnr(a: Tensor, b: Tensor) -> float:
    mse = float(torch.mean((a.float() - b.float()) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def compare(candidate_out: Tensor, reference_out: Tensor, thresholds: ParityThresholds) -> ParityReport:
    if candidate_out.shape != reference_out.shape:
        return ParityReport(0.0, math.inf, thresholds, False,
                            f"output shape {tuple(candidate_out.shape)} != reference {tuple(reference_out.shape)}")
    cand = candidate_out.float()
    if not bool(torch.isfinite(cand).all()):
        return ParityReport(0.0, math.inf, thresholds, False, "output contains NaN/Inf")
    p = psnr(cand, reference_out)
    m = float((cand - reference_out.float()).abs().max())
    ok = p >= thresholds.min_psnr_db and m <= thresholds.max_abs
    reason = "ok" if ok else "parity failed"
    return ParityReport(p, m, thresholds, ok, reason)


@torch.no_grad()
def check_parity(
    candidate: Callable[[Tensor], Tensor],
    reference: Callable[[Tensor], Tensor],
    sample: Tensor,
    *,
    thresholds: ParityThresholds,
) -> ParityReport:
    """Run both on ``sample`` (float32; the candidate casts as it needs) and compare."""
    ref = reference(sample.float()).float()
    out = candidate(sample)
    return compare(out, ref, thresholds)
