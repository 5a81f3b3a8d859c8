"""Issue 20 (defect 5): a video file cut short is read to where it stops and a one-line warning
says how many frames could be read (stylize, video, live); complete files say nothing."""
from __future__ import annotations

import warnings
from pathlib import Path

import av
import pytest

from models.cli import main
from models.errors import TruncatedVideoWarning
from models.io import open_video
from tests.media_factory import make_video, truncate


def faststart_mp4(src: Path, dst: Path) -> Path:
    """``src`` remuxed with the index (moov) first, as web videos are: a cut keeps it readable."""
    with av.open(str(src)) as i, av.open(str(dst), "w", options={"movflags": "+faststart"}) as o:
        s = o.add_stream_from_template(i.streams.video[0])
        for p in i.demux(i.streams.video[0]):
            if p.dts is not None:
                p.stream = s
                o.mux(p)
    return dst


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    make_video(d / "ok.mkv", n=40, audio="aac")
    make_video(d / "plain.mp4", n=40, width=160, height=120, audio=None)  # 64x48: half holds no frame
    return {"ok.mkv": d / "ok.mkv", "cut.mkv": truncate(d / "ok.mkv", d / "cut.mkv", 0.5),
            "ok.mp4": faststart_mp4(d / "plain.mp4", d / "ok.mp4"),
            "cut.mp4": truncate(d / "ok.mp4", d / "cut.mp4", 0.5)}


def read_all(path: Path) -> tuple[int, list[str], str | None]:
    with warnings.catch_warnings(record=True) as got, open_video(path) as r:
        warnings.simplefilter("always")
        n = sum(1 for _ in r)
        return n, [str(w.message) for w in got if w.category is TruncatedVideoWarning], r.truncated


def test_reader_says_how_many_frames_a_cut_file_had(clips: dict[str, Path]) -> None:
    for name in ("ok.mkv", "ok.mp4"):
        assert read_all(clips[name]) == (40, [], None)
    n, msgs, note = read_all(clips["cut.mp4"])  # the header's frame count says 40
    assert 0 < n < 40 and msgs == [note] and note == f"cut.mp4 is truncated: only {n} of the 40 frames its header announces could be read"
    n, msgs, note = read_all(clips["cut.mkv"])  # no count in a Matroska header: its duration says 3.4 s
    assert 0 < n < 40 and msgs == [note] and note.startswith(f"cut.mkv is truncated: {n} frames (")
    assert "of a stated 3.4 s (about 41 frames)" in note


def test_a_file_whose_audio_runs_a_little_longer_is_not_truncated(tmp_path: Path) -> None:
    make_video(tmp_path / "a.mkv", n=24, fps=24, audio="aac")  # AAC frames pad the audio past the video
    assert read_all(tmp_path / "a.mkv") == (24, [], None)


def test_stylize_live_and_video_warn_in_one_line(clips: dict[str, Path], tmp_path: Path, capsys) -> None:
    cut = clips["cut.mkv"]
    n = read_all(cut)[0]
    runs = {
        "stylize": ["stylize", str(cut), "-o", str(tmp_path / "s.mp4"), "-s", "wave", "--device", "cpu"],
        "live": ["live", "--source", str(cut), "--sink", str(tmp_path / "l.mp4"), "--device", "cpu", "-s", "wave"],
        "video": ["video", str(cut), "-o", str(tmp_path / "v.mp4"), "--method", "fast", "--device", "cpu"],
    }
    for cmd, argv in runs.items():
        capsys.readouterr()
        assert main(argv) == 0, cmd
        err = capsys.readouterr().err
        lines = [ln for ln in err.replace("\r", "\n").splitlines() if "truncated" in ln]
        assert len(lines) == 1 and f"stylecast {cmd}: warning: cut.mkv is truncated: {n} frames" in lines[0], (cmd, err)
        assert "Traceback" not in err and "warnings.warn" not in err
    with open_video(tmp_path / "s.mp4") as r:
        assert sum(1 for _ in r) == n
