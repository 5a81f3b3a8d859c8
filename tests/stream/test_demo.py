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


def test_photos_source_in_live_and_serve(tmp_path: Path) -> None:
    """`--source photos` (live) and the server's `photos` broadcast source play the demo clip;
    `serve --demo` without a webcam broadcasts it."""
    from stream.server.sources import open_source as server_source
    from stream.sources import open_source

    src = open_source("photos")
    first = src.read()
    assert src.name == "photos" and first is not None and first.shape == (240, 320, 3)
    np.testing.assert_array_equal(first, photo_clip(n=192, size=(240, 320))[0])
    s = server_source("photos", size=(64, 96), fps=30.0, loop=True, sample_frames=8)
    frames = [s.read() for _ in range(40)]  # 32 frames, then back (ping-pong, no cut at the loop)
    np.testing.assert_array_equal(np.stack(frames[:32]), photo_clip(n=32, size=(64, 96)))
    np.testing.assert_array_equal(frames[32], frames[30])
    s.close()


def test_live_refuses_to_write_the_endless_photos_source_without_max_frames(tmp_path: Path,
                                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["live", "--source", "photos", "--sink", str(tmp_path / "o.mp4"), "--device", "cpu"]) == 2
    assert "never ends" in capsys.readouterr().err


def test_serve_demo_broadcasts_the_photos_without_a_webcam(monkeypatch: pytest.MonkeyPatch) -> None:
    import stream.server.sources as sources
    from stream.server.runner import demo_config

    monkeypatch.setattr(sources, "webcam_available", lambda index=0: False)
    assert demo_config().source == "photos"
    monkeypatch.setattr(sources, "webcam_available", lambda index=0: True)
    assert demo_config().source == "webcam"
