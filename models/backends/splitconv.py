"""Large-kernel convolutions with few output channels, rewritten for oneDNN on the CPU.

Why: oneDNN computes convolutions in blocks of 16 output channels, so the network's last layer
(a 9x9 convolution with 16 inputs and **3** outputs at full resolution) costs as much as one with
16 outputs. Measured on the 2-core VM (AVX512-BF16, torch 2.13.0+cpu, one thread, bf16
channels_last, 16x368x488 input): 19.9 ms for 3 outputs, 21.1 / 20.9 / 20.7 ms with 4 / 8 / 16:
the last layer alone was 17-21 ms of the compiled light network's ~72 ms at 480x360
(docs/bench/render_scale.md §10).

The rewrite splits the k x k kernel into its k rows (exact up to summation order):

    y[o, i, j] = sum_dy z[dy*C_out + o, i + dy, j]
    z = conv_{1 x k}(x_padded, W1),  W1[dy*C_out + o, c, 0, dx] = w[o, c, dy, dx]

so one 1 x k convolution with k*C_out (= 27, padded with zero filters to 32) outputs, whose
channel blocks oneDNN fills, followed by a k-term shifted sum that Inductor fuses into one pass
and accumulates in fp32. Compiled, that layer takes 8-11 ms instead of 20-23 ms. Other layers
are left alone: the same idea for the first layer (3 inputs) and a polyphase form of the
upsampling convolutions were both slower when measured (§10).

Only used where it was measured: the compiled low-precision CPU build (``BackendSpec.split_convs``,
default on for a CPU in bf16/fp16). Eager fp32 on the CPU gains ~3 % and keeps the stock layers.
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.nets.transformer import ConvLayer

# A layer qualifies with at most this many outputs and a kernel of at least 5. Only 3 outputs
# (the networks' last layer) was measured; in oneDNN's 16-wide output blocks the split does
# k * roundup16(k * C_out) instead of k * k * 16 multiply-adds per input channel and pixel
# (9x9: 4.5x fewer at 3 outputs, 3x at 4, equal at 16), and its shifted sum grows with C_out.
MAX_OUT = 4
MIN_KERNEL = 5
_BLOCK = 16


class SplitKernelConv(nn.Module):
    """Drop-in for a stride-1 :class:`ConvLayer` without upsampling (reflection pad, k x k conv)."""

    def __init__(self, layer: ConvLayer) -> None:
        super().__init__()
        conv = layer.conv2d
        if not qualifies(layer):
            raise ValueError(f"SplitKernelConv: expected a stride-1 {MIN_KERNEL}+ px kernel with <= {MAX_OUT} "
                             f"outputs and no upsampling, got {conv}")
        w = conv.weight.detach().float()
        cout, cin, k, _ = w.shape
        self.k, self.cout, self.pad = k, cout, layer.pad
        rows = w.permute(2, 0, 1, 3).reshape(k * cout, cin, 1, k)  # filter dy*cout + o: row dy of w[o]
        n = -(-rows.shape[0] // _BLOCK) * _BLOCK
        rows = torch.cat([rows, rows.new_zeros(n - rows.shape[0], cin, 1, k)])
        bias = conv.bias.detach().float() if conv.bias is not None else torch.zeros(cout)
        self.weight = nn.Parameter(rows.to(conv.weight.dtype), requires_grad=False)
        self.bias = nn.Parameter(bias.to(conv.weight.dtype), requires_grad=False)

    def forward(self, x: Tensor) -> Tensor:
        z = F.conv2d(F.pad(x, (self.pad,) * 4, mode="reflect"), self.weight)
        h = z.shape[2] - self.k + 1
        y = z[:, 0:self.cout, 0:h].float()
        for dy in range(1, self.k):
            y = y + z[:, dy * self.cout:(dy + 1) * self.cout, dy:dy + h].float()
        return (y + self.bias.float().view(1, -1, 1, 1)).to(x.dtype)


def qualifies(layer: nn.Module) -> bool:
    if not isinstance(layer, ConvLayer) or layer.upsample != 1:
        return False
    c = layer.conv2d
    return (c.stride == (1, 1) and c.kernel_size[0] == c.kernel_size[1] >= MIN_KERNEL
            and c.out_channels <= MAX_OUT and c.groups == 1 and c.dilation == (1, 1)
            and 2 * layer.pad == c.kernel_size[0] - 1)


def with_split_convs(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every qualifying :class:`ConvLayer` replaced."""
    model = copy.deepcopy(model)
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if qualifies(child):
                setattr(parent, name, SplitKernelConv(child))
    return model
