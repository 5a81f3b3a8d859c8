"""Multi-style networks with known outputs, and small multi-style checkpoints, for tests."""
from __future__ import annotations

from pathlib import Path

import torch

from models.styles import checkpoint as ckpt
from models.nets.multistyle import ConditionalInstanceNorm2d, MultiStyleNet
from models.nets.transformer import PRESETS

DARK, LIGHT = 30.0, 230.0  # grey levels (0..255) of grey_net's two styles


def grey_net() -> MultiStyleNet:
    """Styles ("dark", "light"): every output pixel is grey ``30 + 200 * w_light`` (0..255 scale).

    Why it is exact: with all convolutions up to ``deconv2`` zero, ``in5`` sees a constant, so
    it outputs its beta (``mix @ betas`` = ``200 * w_light`` on channel 0); ``deconv3`` keeps
    channel 0 through its centre tap and adds a bias of 30. The output is linear in the mix.
    """
    net = MultiStyleNet(PRESETS["light"], style_names=("dark", "light"))
    with torch.no_grad():
        for p in net.parameters():
            p.zero_()
        for m in net.modules():
            if isinstance(m, ConditionalInstanceNorm2d):
                m.weight.fill_(1.0)
        net.in5.bias[1, 0] = LIGHT - DARK
        net.deconv3.conv2d.weight[:, 0, 4, 4] = 1.0
        net.deconv3.conv2d.bias.fill_(DARK)
    return net.eval().requires_grad_(False)


def random_net(names: tuple[str, ...] = ("a", "b"), preset: str = "light", seed: int = 0) -> MultiStyleNet:
    """A random network whose styles differ clearly (per-style gammas/betas drawn apart)."""
    torch.manual_seed(seed)
    net = MultiStyleNet(PRESETS[preset], style_names=names)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, ConditionalInstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-30.0, 30.0)
        net.deconv3.conv2d.bias.fill_(0.5 * net.config.value_scale)
    return net.eval().requires_grad_(False)


def save_net(net: MultiStyleNet, path: Path, *, half: bool = True, name: str | None = None) -> Path:
    meta = ckpt.make_multistyle_metadata(
        name=name or path.stem, preset="light", loss_net="efficientnet_lite0", description="test network",
        license="test", styles=[{"name": n, "description": f"style {n}"} for n in net.style_names])
    return ckpt.save_style(path, net, meta, half=half)
