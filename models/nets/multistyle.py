"""One network for many styles: conditional instance normalization (Dumoulin, Shlens & Kudlur
2017, "A Learned Representation for Artistic Style").

N styles share every convolution and differ only in the instance-norm scale/shift: each
normalisation layer holds a ``(N_styles, C)`` table of gammas and betas, and a *mix* (a point of
the simplex over the styles, ``(N, N_styles)``) selects ``gamma = mix @ gammas``,
``beta = mix @ betas``. A one-hot mix is exactly one style's network; a convex combination
interpolates the normalisation parameters, which the paper (§4, Fig. 7) shows blends the
styles continuously. Switching or blending therefore costs nothing: no weights are loaded and
the convolutions are the same.

Architecture, presets and module names follow :class:`models.nets.transformer.TransformerNet`
(``conv1``, ``in1``, ..., ``res1.conv1``, ..., ``deconv3``), so conv weights carry over; only
the ``in*`` tensors gain a leading style dimension.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.contracts import check, check_frames
from models.nets.mix import MixError, MixLike, mix_dict, mix_weights, one_hot
from models.nets.transformer import PRESETS, ConvLayer, TransformerConfig, TransformerNet, pad_for_net


class ConditionalInstanceNorm2d(nn.Module):
    """Instance norm whose affine parameters are ``mix @ tables`` (Dumoulin et al. 2017, §3).

    ``weight``/``bias``: ``(n_styles, channels)``, initialised to 1 / 0 like ``nn.InstanceNorm2d``.
    ``forward(x (N,C,H,W), mix (N or 1, n_styles))``.

    fp32/fp64: the same kernel as ``nn.InstanceNorm2d`` (batch norm over ``(1, N*C, H, W)`` with
    per-(sample, channel) affine), so a one-hot mix reproduces a single-style network exactly
    and costs the same. fp16/bf16: statistics in fp32 and one fused ``x * a + b`` (as
    :mod:`models.backends.fastnorm`): fp16 second moments on the 0..255 scale overflow.
    """

    def __init__(self, channels: int, n_styles: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        if channels < 1 or n_styles < 1:
            raise ValueError(f"expected channels >= 1 and n_styles >= 1, got {channels}, {n_styles}")
        self.channels, self.n_styles, self.eps = channels, n_styles, eps
        self.weight = nn.Parameter(torch.ones(n_styles, channels))
        self.bias = nn.Parameter(torch.zeros(n_styles, channels))

    def affine(self, mix: Tensor) -> tuple[Tensor, Tensor]:
        """``(gamma, beta)``, each ``(N, C)``, for ``mix`` ``(N, n_styles)``."""
        mix = mix.to(self.weight.dtype)
        return mix @ self.weight, mix @ self.bias

    def forward(self, x: Tensor, mix: Tensor) -> Tensor:
        gamma, beta = self.affine(mix)
        n, c, h, w = x.shape
        if x.dtype in (torch.float16, torch.bfloat16):
            var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True, correction=0)
            a = torch.rsqrt(var + self.eps) * gamma.float()[:, :, None, None]
            b = beta.float()[:, :, None, None] - mean * a
            return torch.addcmul(b.to(x.dtype), x, a.to(x.dtype))
        gamma, beta = gamma.to(x.dtype).expand(n, c), beta.to(x.dtype).expand(n, c)
        y = F.batch_norm(x.reshape(1, n * c, h, w), None, None, gamma.reshape(-1), beta.reshape(-1),
                         training=True, momentum=0.0, eps=self.eps)
        return y.reshape(n, c, h, w)


class CondResidualBlock(nn.Module):
    """:class:`models.nets.transformer.ResidualBlock` with conditional instance norm."""

    def __init__(self, c: int, n_styles: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3)
        self.in1 = ConditionalInstanceNorm2d(c, n_styles)
        self.conv2 = ConvLayer(c, c, 3)
        self.in2 = ConditionalInstanceNorm2d(c, n_styles)

    def forward(self, x: Tensor, mix: Tensor) -> Tensor:
        return x + self.in2(self.conv2(F.relu(self.in1(self.conv1(x), mix))), mix)


class MultiStyleNet(nn.Module):
    """``forward(x (N,3,H,W) RGB [0,1], mix (N or 1, n_styles)) -> stylized RGB [0,1]``.

    Same sizes contract as :class:`TransformerNet` (any H, W >= 1). ``mix`` rows must be valid
    mixes (see :func:`models.nets.mix.mix_weights`); :meth:`stylizer` builds them from names.
    """

    def __init__(self, config: TransformerConfig | None = None, *, style_names: Sequence[str]) -> None:
        super().__init__()
        names = tuple(style_names)
        if not names or len(set(names)) != len(names):
            raise ValueError(f"style_names: expected distinct names, got {list(names)}")
        bad = [n for n in names if not n or any(ch in n for ch in ":=,/") or n != n.strip()]
        if bad:
            raise ValueError(f"style_names: expected names without ':', '=', ',', '/' or surrounding spaces, got {bad}")
        self.config = config or PRESETS["standard"]
        self.style_names = names
        s = len(names)
        c1, c2, c3 = self.config.channels
        self.conv1 = ConvLayer(3, c1, 9)
        self.in1 = ConditionalInstanceNorm2d(c1, s)
        self.conv2 = ConvLayer(c1, c2, 3, stride=2)
        self.in2 = ConditionalInstanceNorm2d(c2, s)
        self.conv3 = ConvLayer(c2, c3, 3, stride=2)
        self.in3 = ConditionalInstanceNorm2d(c3, s)
        for i in range(self.config.n_residual):
            self.add_module(f"res{i + 1}", CondResidualBlock(c3, s))
        self.deconv1 = ConvLayer(c3, c2, 3, upsample=2)
        self.in4 = ConditionalInstanceNorm2d(c2, s)
        self.deconv2 = ConvLayer(c2, c1, 3, upsample=2)
        self.in5 = ConditionalInstanceNorm2d(c1, s)
        self.deconv3 = ConvLayer(c1, 3, 9)

    @property
    def n_styles(self) -> int:
        return len(self.style_names)

    def forward_unclamped(self, x: Tensor, mix: Tensor) -> Tensor:
        """Output on the [0,1] scale without clamping (training: clamping kills gradients)."""
        check_frames(x, "MultiStyleNet input")
        check(mix, "MultiStyleNet mix", shape=(None, self.n_styles))
        if mix.shape[0] not in (1, x.shape[0]):
            raise ValueError(f"MultiStyleNet mix: expected shape (1,{self.n_styles}) or ({x.shape[0]},{self.n_styles}) "
                             f"for {x.shape[0]} frames, got {tuple(mix.shape)}")
        if mix.shape[0] != x.shape[0]:
            mix = mix.expand(x.shape[0], -1)
        h, w = x.shape[-2:]
        y = pad_for_net(x * self.config.value_scale)
        y = F.relu(self.in1(self.conv1(y), mix))
        y = F.relu(self.in2(self.conv2(y), mix))
        y = F.relu(self.in3(self.conv3(y), mix))
        for i in range(self.config.n_residual):
            y = getattr(self, f"res{i + 1}")(y, mix)
        y = F.relu(self.in4(self.deconv1(y), mix))
        y = F.relu(self.in5(self.deconv2(y), mix))
        y = self.deconv3(y)
        return y[..., :h, :w] / self.config.value_scale

    def forward(self, x: Tensor, mix: Tensor) -> Tensor:
        return self.forward_unclamped(x, mix).clamp(0.0, 1.0)

    def mix_tensor(self, mix: MixLike | str) -> Tensor:
        """A validated, normalised ``(1, n_styles)`` mix on this network's device and dtype."""
        w = one_hot(mix, self.style_names) if isinstance(mix, str) else mix_weights(mix, self.style_names)
        p = self.conv1.conv2d.weight
        return torch.tensor([w], dtype=p.dtype, device=p.device)

    def stylizer(self, mix: MixLike | str) -> "MixedStylizer":
        """A plain ``frames -> frames`` stylizer for ``mix`` (a style name, ``{name: weight}`` or
        weights); it shares this network's parameters (no copy)."""
        return MixedStylizer(self, mix)

    def member_net(self, style: str) -> TransformerNet:
        """The single-style :class:`TransformerNet` equal to this network at ``style`` (a copy)."""
        if style not in self.style_names:
            raise MixError(f"unknown style {style!r} in this network; expected one of {list(self.style_names)}")
        k = self.style_names.index(style)
        sd = {key: v.clone() for key, v in self.state_dict().items()}
        for name, m in self.named_modules():
            if isinstance(m, ConditionalInstanceNorm2d):
                sd[f"{name}.weight"], sd[f"{name}.bias"] = m.weight[k].clone(), m.bias[k].clone()
        single = TransformerNet(self.config).to(self.conv1.conv2d.weight)
        single.load_state_dict(sd)
        return single.train(self.training)


class MixedStylizer(nn.Module):
    """``frames -> frames`` with a settable mix: what every existing caller of a style takes.

    The mix lives in a ``(1, n_styles)`` buffer that :meth:`set_mix` overwrites in place, so
    changing the blend allocates nothing, keeps the tensor a compiled graph or CUDA graph
    captured, and never touches the shared network. Several stylizers may share one network.
    """

    def __init__(self, net: MultiStyleNet, mix: MixLike | str) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mix", net.mix_tensor(mix), persistent=False)
        self.base_mix: tuple[float, ...] = tuple(float(v) for v in self.mix[0].tolist())
        self._current = self.base_mix

    @property
    def style_names(self) -> tuple[str, ...]:
        return self.net.style_names

    @property
    def config(self) -> TransformerConfig:
        return self.net.config

    def set_mix(self, mix: MixLike | str | None) -> tuple[float, ...]:
        """Validate, normalise and apply ``mix`` (None: back to the mix this stylizer was made with)."""
        if mix is None:
            w = self.base_mix
        elif isinstance(mix, str):
            w = one_hot(mix, self.style_names)
        else:
            w = mix_weights(mix, self.style_names)
        if w != self._current:
            # in place: same storage, so compiled graphs / CUDA graphs that captured it see the change
            with torch.inference_mode(self.mix.is_inference()), torch.no_grad():
                self.mix.copy_(torch.tensor([w], dtype=self.mix.dtype))
            self._current = w
        return w

    @property
    def weights(self) -> tuple[float, ...]:
        return self._current

    def mix_dict(self) -> dict[str, float]:
        return mix_dict(self._current, self.style_names)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x, self.mix)

    def forward_unclamped(self, x: Tensor) -> Tensor:
        return self.net.forward_unclamped(x, self.mix)


__all__ = ["ConditionalInstanceNorm2d", "CondResidualBlock", "MixError", "MixedStylizer", "MultiStyleNet"]
