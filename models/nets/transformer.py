"""Feed-forward style transfer network (Johnson, Alahi & Fei-Fei 2016).

Changes from the paper that later work showed matter:
- instance normalization instead of batch norm (Ulyanov, Vedaldi & Lempitsky 2016): removes
  the content image's contrast from the style, much better stylization;
- reflection padding instead of zero padding: no dark borders;
- nearest-neighbour upsample + conv instead of transposed conv (Odena et al. 2016,
  "Deconvolution and Checkerboard Artifacts"): no checkerboard.

Module names follow pytorch/examples ``fast_neural_style`` so its ``.pth`` files import
directly (see :mod:`models.styles.checkpoint`). Like that model, the network works on a 0..255 scale
internally; :meth:`TransformerNet.forward` takes and returns RGB in [0,1].
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from models.contracts import check_frames


@dataclass(frozen=True)
class TransformerConfig:
    """Architecture hyper-parameters; stored in every checkpoint's metadata."""

    channels: tuple[int, int, int] = (32, 64, 128)
    n_residual: int = 5
    value_scale: float = 255.0  # input multiplied by this, output divided (pytorch/examples: 255)

    def to_dict(self) -> dict:
        return {"channels": list(self.channels), "n_residual": self.n_residual, "value_scale": self.value_scale}

    @staticmethod
    def from_dict(d: dict) -> "TransformerConfig":
        return TransformerConfig(
            channels=tuple(int(c) for c in d["channels"]),  # type: ignore[arg-type]
            n_residual=int(d["n_residual"]),
            value_scale=float(d.get("value_scale", 255.0)),
        )


PRESETS: dict[str, TransformerConfig] = {
    # Johnson et al. 2016 widths; ~1.7 M parameters.
    "standard": TransformerConfig(channels=(32, 64, 128), n_residual=5),
    # ~4x fewer FLOPs: for CPUs and 1080p+ streams.
    "light": TransformerConfig(channels=(16, 32, 64), n_residual=3),
}


def preset(name: str) -> TransformerConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}") from None


def pad_for_net(y: Tensor) -> Tensor:
    """Pad ``(N,C,H,W)`` at the bottom/right to a multiple of 4 and at least 8 px (crop back after).

    Two stride-2 stages need a multiple of 4; the 3x3 reflection pads at 1/4 resolution need
    >= 2 px there, the 9x9 ones >= 5 px at full resolution.
    """
    h, w = y.shape[-2:]
    ph, pw = max(8 - h, (-h) % 4), max(8 - w, (-w) % 4)
    if ph or pw:
        # Reflection needs pad < size; tiny inputs fall back to replicate.
        mode = "reflect" if (h > ph and w > pw) else "replicate"
        y = F.pad(y, (0, pw, 0, ph), mode=mode)
    return y


class ConvLayer(nn.Module):
    """Reflection-padded convolution (key layout ``NAME.conv2d.*`` as in pytorch/examples)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, upsample: int = 1) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.upsample = upsample
        self.conv2d = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: Tensor) -> Tensor:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv2d(F.pad(x, (self.pad,) * 4, mode="reflect"))


class ResidualBlock(nn.Module):
    """x + IN(conv(relu(IN(conv(x))))) -- no ReLU after the sum (Gross & Wilber 2016)."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3)
        self.in1 = nn.InstanceNorm2d(c, affine=True)
        self.conv2 = ConvLayer(c, c, 3)
        self.in2 = nn.InstanceNorm2d(c, affine=True)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.in2(self.conv2(F.relu(self.in1(self.conv1(x)))))


class TransformerNet(nn.Module):
    """RGB [0,1] ``(N,3,H,W)`` -> stylized RGB [0,1], same size, any H, W >= 1.

    Inputs are reflection-padded to a multiple of 4 (two stride-2 stages), at least 8x8, and
    cropped back, so odd and tiny sizes (1x1) work and the output matches the input in size.
    """

    def __init__(self, config: TransformerConfig | None = None) -> None:
        super().__init__()
        self.config = config or PRESETS["standard"]
        c1, c2, c3 = self.config.channels
        self.conv1 = ConvLayer(3, c1, 9)
        self.in1 = nn.InstanceNorm2d(c1, affine=True)
        self.conv2 = ConvLayer(c1, c2, 3, stride=2)
        self.in2 = nn.InstanceNorm2d(c2, affine=True)
        self.conv3 = ConvLayer(c2, c3, 3, stride=2)
        self.in3 = nn.InstanceNorm2d(c3, affine=True)
        for i in range(self.config.n_residual):
            self.add_module(f"res{i + 1}", ResidualBlock(c3))
        self.deconv1 = ConvLayer(c3, c2, 3, upsample=2)
        self.in4 = nn.InstanceNorm2d(c2, affine=True)
        self.deconv2 = ConvLayer(c2, c1, 3, upsample=2)
        self.in5 = nn.InstanceNorm2d(c1, affine=True)
        self.deconv3 = ConvLayer(c1, 3, 9)

    def forward_unclamped(self, x: Tensor) -> Tensor:
        """Output on the [0,1] scale without clamping (use for training: clamping kills gradients)."""
        check_frames(x, "TransformerNet input")
        h, w = x.shape[-2:]
        y = pad_for_net(x * self.config.value_scale)
        y = F.relu(self.in1(self.conv1(y)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        for i in range(self.config.n_residual):
            y = getattr(self, f"res{i + 1}")(y)
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y[..., :h, :w] / self.config.value_scale

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_unclamped(x).clamp(0.0, 1.0)
