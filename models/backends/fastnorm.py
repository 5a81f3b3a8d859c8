"""Instance norm with fp32 statistics and a single fused scale/shift, for fp16 inference.

Why: measured on an H200, fp16 channels_last eager was *slower* than fp32 (24.9 vs 16.5 ms at
1080p). ``F.instance_norm`` reshapes to ``(1, N*C, H, W)`` and runs batch norm, which needs an
NCHW-contiguous tensor, so every channels_last norm costs a layout copy each way; and the
TransformerNet works on a 0..255 scale where fp16 second moments approach the fp16 maximum
(65504), so statistics must accumulate in fp32 anyway. Here ``torch.var_mean`` reduces in fp32
in whatever memory format the input has, and the per-(sample, channel) affine
``y = x * a + b`` (a = gamma / sqrt(var + eps), b = beta - mean * a) is one elementwise pass in
the input dtype. Ulyanov et al. 2016 define the operation; this only reorders the arithmetic.
"""
from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


class FastInstanceNorm2d(nn.Module):
    """Drop-in for ``nn.InstanceNorm2d(C, affine=True|False)`` without running statistics."""

    def __init__(self, num_features: int, *, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None

    @staticmethod
    def from_module(m: nn.InstanceNorm2d) -> "FastInstanceNorm2d":
        if m.track_running_stats:
            raise ValueError("FastInstanceNorm2d: expected an InstanceNorm2d without running stats")
        out = FastInstanceNorm2d(m.num_features, eps=m.eps, affine=m.affine)
        if m.affine:
            with torch.no_grad():
                out.weight.copy_(m.weight.float())
                out.bias.copy_(m.bias.float())
        return out

    def forward(self, x: Tensor) -> Tensor:
        var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True, correction=0)
        a = torch.rsqrt(var + self.eps)
        if self.weight is not None:
            a = a * self.weight.float().view(1, -1, 1, 1)
        b = -mean * a
        if self.bias is not None:
            b = b + self.bias.float().view(1, -1, 1, 1)
        return torch.addcmul(b.to(x.dtype), x, a.to(x.dtype))


def with_fast_norm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every running-stats-free ``nn.InstanceNorm2d`` replaced."""
    model = copy.deepcopy(model)
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d) and not child.track_running_stats:
                setattr(parent, name, FastInstanceNorm2d.from_module(child))
    return model
