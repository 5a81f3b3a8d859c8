"""Issue 20 (defect 7): an RGBA image keeps its alpha channel through ``stylecast stylize``
(the colour is stylized, the alpha carried over); a format without alpha says it drops it."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.cli import main
from models.io import read_alpha, read_image


def rgba(h: int = 48, w: int = 64) -> np.ndarray:
    """BGRA: a colour ramp with a radial alpha (opaque centre, transparent corners)."""
    y, x = np.mgrid[:h, :w]
    a = np.clip(255 - 6 * np.hypot(y - h / 2, x - w / 2), 0, 255).astype(np.uint8)
    return np.dstack([(x * 4 % 256).astype(np.uint8), (y * 5 % 256).astype(np.uint8), np.full((h, w), 90, np.uint8), a])


@pytest.mark.parametrize("suffix, tol", [(".png", 0), (".webp", 0)])
def test_stylize_keeps_alpha(tmp_path: Path, suffix: str, tol: int, capsys) -> None:
    src, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    img = rgba()
    assert cv2.imwrite(str(src), img, [cv2.IMWRITE_WEBP_QUALITY, 101] if suffix == ".webp" else [])
    assert main(["stylize", str(src), "-o", str(out), "-s", "wave", "--device", "cpu"]) == 0
    got = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert got.shape == (48, 64, 4)
    assert np.abs(got[..., 3].astype(int) - img[..., 3]).max() <= tol
    # the colour is stylized (not the input copied through)
    assert np.abs(got[..., :3].astype(int) - img[..., :3]).mean() > 20
    assert read_image(out).shape == (48, 64, 3)  # readable as RGB too
    assert "warning" not in capsys.readouterr().err


def test_alpha_follows_max_side_and_jpeg_output_says_it_drops_it(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.png"
    img = rgba(96, 128)
    cv2.imwrite(str(src), img)
    assert main(["stylize", str(src), "-o", str(tmp_path / "half.png"), "-s", "wave", "--device", "cpu",
                 "--max-side", "64"]) == 0
    a = read_alpha(tmp_path / "half.png")
    want = cv2.resize(img[..., 3], (64, 48), interpolation=cv2.INTER_AREA)
    assert a is not None and np.array_equal(a, want)
    assert main(["stylize", str(src), "-o", str(tmp_path / "o.jpg"), "-s", "wave", "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "stylecast stylize: warning: the input's alpha channel is not in o.jpg: .jpg has none" in err
    assert read_image(tmp_path / "o.jpg").shape == (96, 128, 3)


def test_read_alpha_16_bit_and_none_for_rgb(tmp_path: Path) -> None:
    img16 = rgba().astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "a16.png"), img16)
    assert np.array_equal(read_alpha(tmp_path / "a16.png"), rgba()[..., 3])
    cv2.imwrite(str(tmp_path / "rgb.png"), rgba()[..., :3])
    assert read_alpha(tmp_path / "rgb.png") is None
