"""Registry: bundled + user styles, name/path resolution, errors listing names, CLI listing."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.styles import checkpoint as ckpt
from models.styles import registry
from models.errors import UserError
from models.nets.transformer import PRESETS, TransformerNet


@pytest.fixture()
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "styles"
    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(d))
    torch.manual_seed(0)
    meta = ckpt.make_metadata(name="mine", preset="light", loss_net="efficientnet_lite0", description="user one")
    ckpt.save_style(d / "mine.safetensors", TransformerNet(PRESETS["light"]), meta)
    (d / "junk.safetensors").write_bytes(b"garbage")  # skipped in listings
    return d


def test_default_style_is_bundled_and_loads() -> None:
    entries = {e.name: e for e in registry.list_styles()}
    assert registry.DEFAULT_STYLE in entries and entries[registry.DEFAULT_STYLE].source == "bundled"
    net = registry.load_stylizer(registry.DEFAULT_STYLE)
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    assert next(net.parameters()).dtype == torch.float32  # default_dtype("cpu"), upcast from fp16
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    assert float((y - x).abs().mean()) > 0.03  # it actually changes the image
    meta = registry.style_metadata(registry.DEFAULT_STYLE)
    assert meta["preset"] == "light" and meta["loss_net"] == "efficientnet_lite0" and meta["license"]


def test_user_styles_listed_and_resolved(user_dir: Path) -> None:
    entries = {e.name: e for e in registry.list_styles()}
    assert entries["mine"].source == "user" and entries["mine"].description == "user one"
    assert "junk" not in entries
    assert registry.resolve_style("mine") == user_dir / "mine.safetensors"
    assert registry.resolve_style(str(user_dir / "mine.safetensors")) == user_dir / "mine.safetensors"
    net = registry.load_stylizer("mine", dtype=torch.float64)
    assert next(net.parameters()).dtype == torch.float64


def test_unknown_style_lists_names(user_dir: Path) -> None:
    with pytest.raises(UserError, match=r"unknown style 'nope'.*mine") as e:
        registry.resolve_style("nope")
    assert registry.DEFAULT_STYLE in str(e.value)
    with pytest.raises(UserError, match="corrupt"):
        registry.load_stylizer(str(user_dir / "junk.safetensors"))


def test_cli_lists_styles(user_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from models.cli import main

    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    assert "mine" in out and "user" in out and registry.DEFAULT_STYLE in out and "efficientnet_lite0" in out


def test_cli_imports_pth_into_user_dir(user_dir: Path, tmp_path: Path) -> None:
    from models.cli import main

    torch.manual_seed(2)
    ref = TransformerNet(PRESETS["light"]).eval()
    torch.save(ref.state_dict(), tmp_path / "old.pth")
    assert main(["styles", "--import-pth", str(tmp_path / "old.pth"), "--name", "old", "--preset", "light"]) == 0
    net = registry.load_stylizer("old")
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(net(x), ref(x), atol=0, rtol=0)
    assert main(["styles", "--import-pth", str(tmp_path / "old.pth"), "--name", "x", "--preset", "standard"]) == 2
    assert not (user_dir / "x.safetensors").exists()


def test_user_style_shadows_bundled_name(user_dir: Path) -> None:
    import shutil

    shutil.copy(user_dir / "mine.safetensors", user_dir / f"{registry.DEFAULT_STYLE}.safetensors")
    entries = {e.name: e for e in registry.list_styles()}
    assert entries[registry.DEFAULT_STYLE].source == "user"
    assert registry.resolve_style(registry.DEFAULT_STYLE).parent == user_dir
