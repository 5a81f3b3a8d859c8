"""The shipped style set (issue #8): eight light networks, metadata that says what they are, and
each one measurably moves a held-out photo toward its own style image (and not toward the others).

udnie is the one trained with the VGG19 loss and rendered in the photo's colours (models.nets.color):
see docs/bench/training.md for why."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.styles import registry
from models.losses.functional import gram, style_loss
from models.styles.procedural import render_style_image
from tests.conftest import shared_path

PAINTINGS = ("starry_night", "wave", "the_scream", "udnie", "woman_with_hat", "seaport_claude_lorrain")
PROCEDURAL = ("stained_glass", "ink_strokes")
BUNDLED = PAINTINGS + PROCEDURAL


def _bundled() -> dict[str, registry.StyleEntry]:
    return {e.name: e for e in registry.list_styles() if e.source == "bundled" and not e.members}


def test_eight_bundled_styles_with_honest_metadata() -> None:
    entries = _bundled()
    missing = [n for n in BUNDLED if n not in entries]
    assert not missing, f"bundled styles missing: {missing}"
    for name in BUNDLED:
        meta = registry.style_metadata(name)
        assert meta["name"] == name and meta["preset"] == "light" and meta["dtype"] == "float16"
        assert meta["loss_net"] == meta["training"]["loss_net"] == ("vgg19" if name == "udnie" else "efficientnet_lite0")
        assert meta["training"]["device"] == "cpu" and meta["training"]["steps"] >= (2500 if name == "udnie" else 3000)
        assert meta.get("preserve_color", 0.0) == (1.0 if name == "udnie" else 0.0)
        # Public-domain paintings, or our own procedural images (CC0); never candy/mosaic.
        assert ("public domain" if name in PAINTINGS else "CC0") in meta["license"], meta["license"]
        assert len(meta["style_sha256"]) == 64 and meta["description"]
        assert entries[name].path.stat().st_size < 1_000_000  # fp16 light net: ~0.55 MB


def _style_image(name: str) -> np.ndarray:
    if name in PROCEDURAL:
        return render_style_image(name, size=512, seed=0)
    from models.io import read_image
    return read_image(shared_path("data", "styles", f"{name}.jpg"))


def _tensor(im: np.ndarray, long_side: int) -> torch.Tensor:
    x = torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255
    s = long_side / max(x.shape[-2:])
    return F.interpolate(x, scale_factor=s, mode="bilinear", antialias=True)


@pytest.mark.parametrize("name", BUNDLED)
def test_style_moves_a_held_out_photo_toward_its_own_style(name: str) -> None:
    """Gram loss in the style's own training loss space (Lite0; VGG19 for udnie) of golden_gate,
    never a training image: the stylized photo must be >= 2x closer to its own style than the
    photo is, and closer to its own style than to the most distant other bundled style."""
    from models.losses.networks import build_loss_network
    from models.io import read_image

    photo = _tensor(read_image(shared_path("data", "content", "golden_gate.jpg")), 320)
    loss_net = registry.style_metadata(name)["loss_net"]
    weights = str(shared_path("weights", "vgg19_imagenet_features.fp16.safetensors")) if loss_net == "vgg19" else None
    net = build_loss_network(loss_net, weights=weights)
    targets = {}
    for other in (name, "stained_glass" if name != "stained_glass" else "ink_strokes"):
        with torch.no_grad():
            feats = net(_tensor(_style_image(other), 384))  # as in training
        targets[other] = {k: gram(feats[k]) for k in net.style_taps}
    model = registry.load_stylizer(name)
    with torch.no_grad():
        fx, fy = net(photo), net(model(photo))
    own = targets[name]
    before = float(style_loss({k: fx[k] for k in net.style_taps}, own))
    after = float(style_loss({k: fy[k] for k in net.style_taps}, own))
    assert after < before / 2, f"{name}: style loss {before:.3f} -> {after:.3f}"
    other_name = next(k for k in targets if k != name)
    to_other = float(style_loss({k: fy[k] for k in net.style_taps}, targets[other_name]))
    assert after < to_other, f"{name}: closer to {other_name} ({to_other:.3f}) than to itself ({after:.3f})"
