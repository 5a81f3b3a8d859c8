"""`stylecast demo --no-serve`: the README's first command renders the sample end to end."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.cli import main
from models.io import open_video, read_image
from models.io.photo_clip import PHOTOS_DIR, SHOTS, photo_clip, shot_bounds


def test_demo_renders_sample_with_live_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["demo", "--no-serve", "--out", str(tmp_path), "--frames", "6", "--size", "96x64", "--device", "cpu"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "demo.mp4" in out and "demo_preview.png" in out
    with open_video(tmp_path / "demo.mp4") as r:
        frames = np.stack(list(r))
    assert frames.shape == (6, 64, 96, 3)
    clip = photo_clip(n=6, size=(64, 96))
    # stylized, not a copy of the input: a real style moves colours a lot
    assert np.abs(frames.astype(float) - clip.astype(float)).mean() > 20
    preview = read_image(tmp_path / "demo_preview.png")
    assert shot_bounds(6) == [(0, 2), (2, 4), (4, 6)]  # 6 frames: 3 shots of 2, one preview row each
    assert preview.shape == (3 * 64 + 2 * 8, 2 * 96 + 8, 3)
    for row, i in enumerate((1, 3, 5)):  # the middle frame of each shot, input on the left
        np.testing.assert_array_equal(preview[row * 72: row * 72 + 64, :96], clip[i])


def test_photo_clip_is_a_slow_camera_move_over_the_shipped_photos() -> None:
    clip = photo_clip(n=40, size=(120, 160))
    assert clip.shape == (40, 120, 160, 3) and clip.dtype == np.uint8
    np.testing.assert_array_equal(clip, photo_clip(n=40, size=(120, 160)))  # deterministic
    bounds = shot_bounds(40)
    assert bounds == [(0, 10), (10, 20), (20, 30), (30, 40)]
    f = clip.astype(np.float32)
    within = [np.abs(f[i + 1] - f[i]).mean() for a, b in bounds for i in range(a, b - 1)]
    cuts = [np.abs(f[a] - f[a - 1]).mean() for a, _ in bounds[1:]]
    # a camera move (frames change, a little) within a shot; a cut to another photo between shots
    assert 0.3 < min(within) and max(within) < 12 and min(cuts) > 3 * max(within), (within, cuts)
    assert all(clip[a:b].std() > 30 for a, b in bounds)  # real photographs, not flat frames


def test_demo_photos_are_small_and_their_licences_are_stated() -> None:
    files = sorted(PHOTOS_DIR.glob("*.jpg"))
    assert [p.name for p in files] == sorted(s.photo for s in SHOTS)
    assert sum(p.stat().st_size for p in files) < 300_000
    readme = (PHOTOS_DIR / "README.md").read_text()
    for p in files:
        assert p.name in readme
    assert "public domain" in readme and "CC0" in readme


def test_demo_bad_size_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-serve", "--out", str(tmp_path), "--size", "big"]) == 2
    err = capsys.readouterr().err
    assert "expected WxH" in err and "Traceback" not in err
    assert not (tmp_path / "demo.mp4").exists()
