"""VGG16 / VGG19 loss networks (Simonyan & Zisserman 2015) with torchvision's ``features`` layout.

The layer list is written out here (no torchvision dependency) so that torchvision's published
ImageNet weights, and any ``vgg*().features`` state dict, load by index: ``features.N.weight``.
Tap names follow the style-transfer literature: ``relu{block}_{conv}`` (Gatys et al. 2016 use
VGG19 relu1_1..relu5_1 for style and relu4_2 for content; Johnson et al. 2016 use VGG16
relu1_2..relu4_3 for style and relu2_2 for content).
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from models.errors import UserError

# torchvision cfg "D" (vgg16) and "E" (vgg19): conv widths, "M" = 2x2 max-pool.
_CFG: dict[str, list[int | str]] = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}
URLS = {
    "vgg16": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "vgg19": "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
}
ENV = {"vgg16": "STYLECAST_VGG16_WEIGHTS", "vgg19": "STYLECAST_VGG19_WEIGHTS"}
DEFAULT_TAPS = {
    "vgg16": (("relu1_2", "relu2_2", "relu3_3", "relu4_3"), "relu2_2"),
    "vgg19": (("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), "relu4_2"),
}
# torchvision ImageNet weights expect RGB [0,1] normalised with these.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def build_features(name: str) -> tuple[nn.Sequential, dict[str, int]]:
    """The ``features`` Sequential and a map tap name -> index of its ReLU module."""
    layers: list[nn.Module] = []
    taps: dict[str, int] = {}
    cin, block, conv = 3, 1, 0
    for v in _CFG[name]:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            block, conv = block + 1, 0
            continue
        conv += 1
        layers.append(nn.Conv2d(cin, int(v), kernel_size=3, padding=1))
        layers.append(nn.ReLU(inplace=False))
        taps[f"relu{block}_{conv}"] = len(layers) - 1
        cin = int(v)
    return nn.Sequential(*layers), taps


def build_classifier() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(),
        nn.Linear(4096, 1000),
    )


def load_state(name: str, weights: str | os.PathLike | None) -> dict[str, Tensor]:
    """State dict from ``weights`` / the env var / torchvision's URL, keys as in torchvision."""
    path = weights or os.environ.get(ENV[name])
    if path:
        sd = _read_file(Path(path))
    else:
        try:
            sd = torch.hub.load_state_dict_from_url(URLS[name], map_location="cpu", progress=True)
        except Exception as exc:  # URLError, HTTPError, socket errors...
            raise UserError(
                f"cannot load {name} weights: no local file given and the download of {URLS[name]} "
                f"failed ({exc}); pass weights=PATH (CLI: --loss-weights PATH) or set {ENV[name]}=PATH "
                f"to a .safetensors/.pth torchvision {name} state dict"
            ) from exc
    if not path:  # the download's 120 M classifier parameters are useless for a loss network
        sd = {k: v for k, v in sd.items() if k.startswith("features.")}
    out: dict[str, Tensor] = {}
    for k, v in sd.items():
        if not isinstance(v, Tensor):
            continue
        if k.startswith("features.") or k.startswith("classifier."):
            out[k] = v.float()  # fp16 files are upcast
        elif k.split(".")[0].isdigit():  # bare features keys "0.weight"
            out["features." + k] = v.float()
    if not any(k.startswith("features.") for k in out):
        raise UserError(f"{path or URLS[name]}: expected a {name} state dict with features.N.weight keys, "
                        f"got keys {sorted(sd)[:5]}...")
    return out


def _read_file(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise UserError(f"loss-network weights: expected a .safetensors or .pth file, got missing path {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
        return sd.get("state_dict", sd) if isinstance(sd, dict) else sd
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from exc
