"""A random-weight TransformerNet whose outputs look like a trained net's (for timing / parity).

A freshly initialised TransformerNet outputs about 0 +- 0.002 on its 0..255 scale, so after the
[0,1] clamp half the pixels are black and every backend "agrees": parity would prove nothing.
Rescaling the last conv so the output spreads around 0.5 (std ~0.15) makes every layer's error
visible, while timing is unchanged (same architecture, same FLOPs).
"""
from __future__ import annotations

import torch

from models.backends.parity import parity_input
from models.nets.transformer import PRESETS, TransformerNet


def synthetic_style_net(preset: str = "standard", *, seed: int = 0, out_std: float = 0.15) -> TransformerNet:
    torch.manual_seed(seed)  # reproducible weights (nn.Module init draws from the global RNG)
    net = TransformerNet(PRESETS[preset]).eval().requires_grad_(False)
    with torch.no_grad():
        y = net.forward_unclamped(parity_input(1, 64, 64, seed=seed))
        conv = net.deconv3.conv2d
        conv.weight.mul_(out_std / max(float(y.std()), 1e-8))
        conv.bias.fill_(0.5 * net.config.value_scale)
    return net
