"""``stylecast video`` end to end through the CLI: real footage with audio keeps fps, time base
and audio; corrupt input and a full disk fail with one clear line and no partial output."""
from __future__ import annotations

import errno
from pathlib import Path
from typing import Iterator

import pytest
import torch

from models.cli import main
from tests.conftest import shared_path


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _args(inp: Path, out: Path, *extra: str) -> list[str]:
    return ["video", str(inp), "-o", str(out), "--method", "ruder",
            "--style-image", str(shared_path("data", "styles", "wave.jpg")),
            "--loss-weights", str(shared_path("weights", "vgg19_imagenet_features.fp16.safetensors")),
            "--iterations", "2", "--first-iterations", "2", "--max-side", "64", "--max-frames", "3",
            "--long-term", "1,2", "--device", "cpu", *extra]


def _error_line(err: str) -> str:
    """The CLI's one-line error (progress bars share stderr, ending in carriage returns)."""
    last = err.rstrip("\n").split("\n")[-1].split("\r")[-1]
    assert last.startswith("stylecast video: error: "), err
    return last


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith(".") or p.suffix == ".part")


def test_video_keeps_timing_and_audio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from models.io import open_video

    src = shared_path("data", "video", "cockatoo_720p.mp4")
    out = tmp_path / "out.mp4"
    assert main(_args(src, out, "--keep-job")) == 0
    with open_video(src) as a, open_video(out) as b:
        frames = list(b)
        assert (b.fps, b.time_base, b.has_audio) == (a.fps, a.time_base, True)
    assert len(frames) == 3 and frames[0].shape == (36, 64, 3)
    assert (tmp_path / "out.mp4.job" / "progress.json").exists()
    # rerunning the finished job only re-encodes (every frame result is on disk)
    out.unlink()
    assert main(_args(src, out)) == 0 and out.exists()


def test_corrupt_input_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    out = tmp_path / "o" / "out.mp4"
    out.parent.mkdir()
    assert main(_args(bad, out)) == 2
    assert "broken.mp4" in _error_line(capsys.readouterr().err)
    assert list(out.parent.iterdir()) == []  # not even a job directory


def test_full_disk_leaves_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    import models.io as media

    class FullDisk(media.VideoWriter):
        def write(self, frame, pts=None):  # type: ignore[no-untyped-def]
            if self.frames_written >= 1:
                def fail() -> None:
                    raise OSError(errno.ENOSPC, "No space left on device")
                self._guard(fail)
            super().write(frame, pts)

    monkeypatch.setattr(media, "VideoWriter", FullDisk)
    frames = shared_path("data", "video", "sintel_mountain_2")
    out = tmp_path / "out.mp4"
    assert main(_args(frames, out)) == 2
    assert "no space left on device" in _error_line(capsys.readouterr().err)
    assert not out.exists() and _leftovers(tmp_path) == []
    # the frames are done: after freeing space the same command just writes the output
    monkeypatch.undo()
    assert main(_args(frames, out)) == 0 and out.exists()


def test_frames_dir_output_full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    real = shutil.copyfile
    calls = {"n": 0}

    def copy(src, dst, **kw):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(src, dst, **kw)

    frames = shared_path("data", "video", "sintel_mountain_2")
    out = tmp_path / "frames_out"
    monkeypatch.setattr(shutil, "copyfile", copy)
    assert main(_args(frames, out)) == 2
    assert "no space left on device" in _error_line(capsys.readouterr().err)
    assert not out.exists() and _leftovers(tmp_path) == []


def test_user_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = shared_path("data", "video", "sintel_mountain_2")
    assert main(["video", str(frames), "-o", str(tmp_path / "x.mp4"), "--method", "ruder"]) == 2
    assert "expected --style-image" in capsys.readouterr().err
    assert main(_args(tmp_path / "missing.mp4", tmp_path / "x.mp4")) == 2
    assert "not found" in capsys.readouterr().err
    assert main(_args(frames, tmp_path / "x.avi")) == 2
    assert "expected a video file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(_args(frames, tmp_path / "x.mp4", "--long-term", "0,1"))
    assert not (tmp_path / "x.mp4").exists()


def test_fast_method_with_bundled_style(tmp_path: Path) -> None:
    import numpy as np

    from offline.ruder.job import read_png

    frames = shared_path("data", "video", "sintel_mountain_2")
    out = tmp_path / "fast_frames"
    assert main(["video", str(frames), "-o", str(out), "--method", "fast", "--max-side", "64",
                 "--max-frames", "4", "--device", "cpu", "--keep-job"]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"frame_{i:06d}.png" for i in range(1, 5)]
    job_frame = read_png(tmp_path / "fast_frames.job" / "frames" / "000000.png")
    got = read_png(files[0])
    assert got.shape == job_frame.shape == (28, 64, 3)
    assert np.abs(got.astype(int) - job_frame.astype(int)).mean() > 10  # stylized, not a copy
