"""Style checkpoints: round trip, metadata, fp16 storage, clear mismatch errors, .pth import."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from models.styles import checkpoint as ckpt
from models.errors import UserError
from models.nets.transformer import PRESETS, TransformerNet


def _model(name: str = "light", seed: int = 0) -> TransformerNet:
    torch.manual_seed(seed)
    m = TransformerNet(PRESETS[name])
    with torch.no_grad():  # non-trivial affine params so a lost key would show
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m.eval()


def _meta(**kw):
    return ckpt.make_metadata(name="t", preset=kw.pop("preset", "light"), loss_net="efficientnet_lite0",
                              training={"steps": 3, "lr": 1e-3}, style_sha256="ab" * 32,
                              description="test", license="CC0", **kw)


def test_round_trip_float32_exact_and_metadata(tmp_path: Path) -> None:
    m = _model()
    p = ckpt.save_style(tmp_path / "s.safetensors", m, _meta(), sidecar=True)
    loaded, meta = ckpt.load_style(p)
    x = torch.rand(1, 3, 21, 30)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), m(x), atol=0, rtol=0)
    assert meta["preset"] == "light" and meta["config"] == PRESETS["light"].to_dict()
    assert meta["training"] == {"steps": 3, "lr": 1e-3} and meta["format_version"] == ckpt.FORMAT_VERSION
    assert meta["created"].startswith("20") and meta["dtype"] == "float32"
    assert json.loads((tmp_path / "s.json").read_text()) == meta
    assert not loaded.training and not any(q.requires_grad for q in loaded.parameters())
    assert not list(tmp_path.glob("*.tmp"))


def test_fp16_storage_is_small_and_upcast(tmp_path: Path) -> None:
    m = _model()
    p32 = ckpt.save_style(tmp_path / "a.safetensors", m, _meta())
    p16 = ckpt.save_style(tmp_path / "b.safetensors", m, _meta(), half=True)
    assert p16.stat().st_size < 0.55 * p32.stat().st_size
    loaded, meta = ckpt.load_style(p16)
    assert meta["dtype"] == "float16" and next(loaded.parameters()).dtype == torch.float32
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        err = (loaded(x) - m(x)).abs().max()
    assert float(err) < 2e-2  # fp16 weight rounding only


def test_preset_mismatch_names_preset_and_key(tmp_path: Path) -> None:
    p = ckpt.save_style(tmp_path / "s.safetensors", _model("light"), _meta())
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(p), framework="pt") as f:
        header = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta = json.loads(header["stylecast"])
    meta["preset"], meta["config"] = "standard", PRESETS["standard"].to_dict()
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata={"stylecast": json.dumps(meta)})
    with pytest.raises(UserError, match=r"preset 'standard'.*(missing keys|shape mismatch)"):
        ckpt.load_style(bad)
    del tensors["res1.conv1.conv2d.weight"]
    save_file(tensors, str(tmp_path / "miss.safetensors"), metadata=header)
    with pytest.raises(UserError, match=r"missing keys \['res1.conv1.conv2d.weight'\]"):
        ckpt.load_style(tmp_path / "miss.safetensors")


def test_not_stylecast_corrupt_missing(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(UserError, match="not a stylecast checkpoint"):
        ckpt.load_style(tmp_path / "plain.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(UserError, match="corrupt"):
        ckpt.load_style(tmp_path / "junk.safetensors")
    with pytest.raises(UserError, match="missing path"):
        ckpt.load_style(tmp_path / "nope.safetensors")


class _ExamplesNet(nn.Module):
    """The pytorch/examples fast_neural_style TransformerNet forward (0..255 in and out),
    written independently here: plain nn.Sequential-free reference for the importer."""

    def __init__(self, sd: dict) -> None:
        super().__init__()
        self.sd = sd

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sd = self.sd
        F = torch.nn.functional

        def conv(name, y, stride=1, up=1):
            w, b = sd[f"{name}.conv2d.weight"], sd[f"{name}.conv2d.bias"]
            if up > 1:
                y = F.interpolate(y, mode="nearest", scale_factor=up)
            k = w.shape[-1]
            return F.conv2d(F.pad(y, (k // 2,) * 4, mode="reflect"), w, b, stride)

        def inorm(name, y):
            return F.instance_norm(y, weight=sd[f"{name}.weight"], bias=sd[f"{name}.bias"], eps=1e-5)

        y = F.relu(inorm("in1", conv("conv1", x)))
        y = F.relu(inorm("in2", conv("conv2", y, 2)))
        y = F.relu(inorm("in3", conv("conv3", y, 2)))
        for i in range(1, 6):
            r = y
            y = F.relu(inorm(f"res{i}.in1", conv(f"res{i}.conv1", y)))
            y = inorm(f"res{i}.in2", conv(f"res{i}.conv2", y)) + r
        y = F.relu(inorm("in4", conv("deconv1", y, up=2)))
        y = F.relu(inorm("in5", conv("deconv2", y, up=2)))
        return conv("deconv3", y)


def test_import_pytorch_examples_pth(tmp_path: Path) -> None:
    sd = {k: v.clone() for k, v in _model("standard", seed=3).state_dict().items()}
    legacy = dict(sd)
    for k in [k for k in sd if k.endswith(".weight") and ".in" in f".{k}" and sd[k].ndim == 1]:
        stem = k[: -len(".weight")]
        legacy[f"{stem}.running_mean"] = torch.zeros_like(sd[k])
        legacy[f"{stem}.running_var"] = torch.ones_like(sd[k])
    assert any(k.endswith("running_mean") for k in legacy)
    torch.save(legacy, tmp_path / "udnie.pth")
    out = ckpt.import_pth(tmp_path / "udnie.pth", tmp_path / "udnie.safetensors", license="BSD-3-Clause")
    model, meta = ckpt.load_style(out)
    assert meta["name"] == "udnie" and meta["preset"] == "standard"
    x = torch.rand(1, 3, 36, 44)
    with torch.no_grad():
        ref = _ExamplesNet(sd)(x * 255) / 255
        torch.testing.assert_close(model.forward_unclamped(x), ref, atol=1e-4, rtol=1e-4)
    torch.save({"conv1.conv2d.weight": torch.zeros(3)}, tmp_path / "bad.pth")
    with pytest.raises(UserError, match="missing keys"):
        ckpt.import_pth(tmp_path / "bad.pth", tmp_path / "bad.safetensors")
    assert not (tmp_path / "bad.safetensors").exists()
