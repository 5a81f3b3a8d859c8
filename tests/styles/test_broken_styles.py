"""Issue 20 (defect 8): a broken ``.safetensors`` in the user styles folder is listed as broken
with the reason (it vanished silently and was then "unknown"); ``--import-pth`` on a file that is
not a pickle of tensors says what is wrong with the file, not PyTorch's weights_only advice."""
from __future__ import annotations

import collections
from pathlib import Path

import pytest
import torch

from models.cli import main
from models.styles.registry import BUNDLED_DIR, broken_styles, list_styles


@pytest.fixture
def styles_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "styles"
    d.mkdir()
    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(d))
    (d / "garbage.safetensors").write_text("not a checkpoint\n")
    (d / "cut.safetensors").write_bytes((BUNDLED_DIR / "wave.safetensors").read_bytes()[:300])
    return d


def test_styles_lists_broken_files_with_the_reason(styles_dir: Path, capsys) -> None:
    assert {n for n, _, _ in broken_styles()} == {"garbage", "cut"}
    assert not {"garbage", "cut"} & {e.name for e in list_styles()}  # never offered as usable styles
    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln.strip()}
    assert rows["cut"][1] == "BROKEN" and rows["garbage"][1] == "BROKEN"
    assert f"BROKEN cut ({styles_dir / 'cut.safetensors'}): not a readable safetensors file" in out
    assert "wave" in rows  # bundled styles still listed


def test_using_a_broken_style_says_it_is_broken(styles_dir: Path, tmp_path: Path, capsys) -> None:
    from models.io import write_image
    import numpy as np

    img = write_image(tmp_path / "a.png", np.zeros((16, 16, 3), np.uint8))
    assert main(["stylize", str(img), "-s", "garbage", "-o", str(tmp_path / "b.png"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "style 'garbage':" in err and "garbage.safetensors is broken: not a readable safetensors file" in err
    assert "unknown style" not in err


def _files(d: Path) -> dict[str, Path]:
    torch.save({"w": torch.zeros(2), "o": collections.OrderedDict}, d / "objects.pth")
    torch.save({"w": torch.zeros(2), "o": object}, d / "obj.pth")
    (d / "text.pth").write_text("hello world")
    (d / "empty.pth").write_bytes(b"")
    (d / "cutzip.pth").write_bytes((d / "obj.pth").read_bytes()[:700])
    (d / "random.pth").write_bytes(bytes(range(256)) * 4)
    (d / "style.pth").write_bytes((BUNDLED_DIR / "wave.safetensors").read_bytes())
    return {p.stem: p for p in d.glob("*.pth")}


@pytest.mark.parametrize("name, message", [
    ("obj", "the file holds Python objects besides tensors (object)"),
    ("text", "a text file, not a PyTorch checkpoint (starts with 'hello world')"),
    ("empty", "the file is empty"),
    ("cutzip", "a PyTorch zip archive that is truncated or corrupt (700 bytes)"),
    ("random", "not a PyTorch checkpoint (starts with bytes 00 01 02 03 04 05 06 07)"),
    ("style", "this is a .safetensors file, not a .pth"),
])
def test_import_pth_says_what_is_wrong_with_the_file(styles_dir: Path, tmp_path: Path, capsys, name, message) -> None:
    f = _files(tmp_path)[name]
    assert main(["styles", "--import-pth", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"stylecast styles: error: {f}: cannot import: {message}" in err, err
    assert "weights_only" not in err and len(err.strip().splitlines()) == 1
    assert not (styles_dir / f"{name}.safetensors").exists()
