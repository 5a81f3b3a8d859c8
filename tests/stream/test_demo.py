"""`stylecast demo --no-serve`: the README's first command renders the sample end to end."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.cli import main
from models.io import open_video, read_image
from models.io.sample import sample_frames


def test_demo_renders_sample_with_live_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["demo", "--no-serve", "--out", str(tmp_path), "--frames", "6", "--size", "96x64", "--device", "cpu"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "demo.mp4" in out and "demo_preview.png" in out
    with open_video(tmp_path / "demo.mp4") as r:
        frames = np.stack(list(r))
    assert frames.shape == (6, 64, 96, 3)
    clip = sample_frames(n=6, size=(64, 96))
    # stylized, not a copy of the input: a real style moves colours a lot
    assert np.abs(frames.astype(float) - clip.astype(float)).mean() > 20
    preview = read_image(tmp_path / "demo_preview.png")
    assert preview.shape == (3 * 64 + 2 * 8, 2 * 96 + 8, 3)
    np.testing.assert_array_equal(preview[:64, :96], clip[0])


def test_demo_bad_size_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--no-serve", "--out", str(tmp_path), "--size", "big"]) == 2
    err = capsys.readouterr().err
    assert "expected WxH" in err and "Traceback" not in err
    assert not (tmp_path / "demo.mp4").exists()
