"""Eager PyTorch backend: fp32 (the parity reference) or fp16/bf16, optionally channels_last."""
from __future__ import annotations

import copy
from dataclasses import replace

import torch
from torch import nn

from models.backends.base import Backend, BackendSpec
from models.backends.fastnorm import with_fast_norm
from models.backends.splitconv import with_split_convs


def prepare(model: nn.Module, spec: BackendSpec) -> nn.Module:
    """A private copy of ``model`` in eval mode on ``spec.device`` / ``spec.dtype`` (the caller's
    module is never converted in place)."""
    m = with_fast_norm(model) if spec.fast_norm else copy.deepcopy(model)
    if spec.split_convs:
        m = with_split_convs(m)
    m = m.eval().requires_grad_(False).to(device=spec.device, dtype=spec.dtype)
    if spec.channels_last:
        m = m.to(memory_format=torch.channels_last)
    return m


def reference_spec(spec: BackendSpec) -> BackendSpec:
    """``spec`` as the parity reference: fp32, plain layout, stock layers (same device and size)."""
    return replace(spec, dtype=torch.float32, channels_last=False, fast_norm=False, split_convs=False)


def is_reference(spec: BackendSpec) -> bool:
    """This configuration *is* the parity reference."""
    return spec == reference_spec(spec)


def build(model: nn.Module, spec: BackendSpec) -> Backend:
    return Backend(kind="eager", name=f"eager[{spec.tag()}]", fn=prepare(model, spec), spec=spec, static=False)
