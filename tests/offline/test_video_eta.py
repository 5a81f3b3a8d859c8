"""``stylecast video`` usability: the estimate printed after the first frame (and before the
start when an earlier run measured the pace), the faster choice named, and the job directory
deleted once the output is written unless ``--keep-job``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.cli import main
from offline.ruder.eta import FASTER, human, step_costs
from offline.ruder.pipeline import VideoSpec
from tests.media_factory import make_video


def test_step_costs_and_hints() -> None:
    assert step_costs(VideoSpec(input="", output="", method="ruder"), 3) == [2.0, 1.0, 1.0]  # 2000 then 1000 it
    assert len(step_costs(VideoSpec(input="", output="", method="fast"), 3)) == 12
    assert "--method fast" in FASTER["ruder"] and "--preset fast" in FASTER["ruder"]
    assert (human(30), human(600), human(7200)) == ("30 s", "10 min", "2.0 h")


def test_estimate_and_keep_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.mp4"
    make_video(src, n=5, width=48, height=32)
    args = ["video", str(src), "--method", "fast", "--style", "wave", "--device", "cpu"]
    assert main([*args, "-o", str(tmp_path / "a.mp4")]) == 0
    err = capsys.readouterr().err
    assert "stylecast video: first frame took" in err and "left (5 frames, method fast)" in err
    assert (tmp_path / "a.mp4").exists() and not (tmp_path / "a.mp4.job").exists()

    out = tmp_path / "b.mp4"
    assert main([*args, "-o", str(out), "--keep-job"]) == 0
    job = tmp_path / "b.mp4.job"
    assert json.loads((job / "job.json").read_text())["seconds_per_step"] > 0
    for f in (job / "out" / "fast").glob("*.png"):  # as if stopped before the last stage
        f.unlink()
    capsys.readouterr()
    assert main([*args, "-o", str(out), "--keep-job"]) == 0
    assert "left at the last run's pace" in capsys.readouterr().err
