"""``stylecast batch --ray`` on a real local Ray (2 CPUs, no GPU; started once per session by the
``ray_local`` fixture): the same files as sequential ``stylecast video`` runs, and a worker killed
mid-chunk (a fault injected on the chunk's first try) retried by Ray, resuming from its last
finished frame, with bit-identical final frames (the PNGs that get encoded; see results())."""
from __future__ import annotations

from pathlib import Path

import pytest

from models.cli import main
from tests.media_factory import make_video
from tests.offline.test_batch import FAST, n_frames, recordings, results  # noqa: F401  (recordings: module fixture)

pytestmark = pytest.mark.timeout(600)


def test_ray_batch_matches_video_runs(ray_local, recordings, tmp_path: Path,  # noqa: F811
                                      capsys: pytest.CaptureFixture[str]) -> None:
    src, expected = recordings
    out = tmp_path / "out"
    assert main(["batch", str(src), "-o", str(out), *FAST, "--ray", "auto", "--workers", "2", "--keep-job"]) == 1
    captured = capsys.readouterr()
    assert {name: results(out / f"{name}.job", "fast") for name in expected} == expected
    assert [n_frames(out / f"rec{k}.mp4") for k in range(3)] == [5, 6, 7]
    assert "3 done, 0 skipped, 1 failed of 4" in captured.out and "broken.mp4" in captured.out


def test_killed_worker_is_retried_and_output_is_identical(ray_local, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    import torch

    torch.set_num_threads(1)  # the Ray workers run one thread (num_cpus=1); so does the reference
    long = tmp_path / "long.mp4"
    make_video(long, n=20, width=48, height=32)
    args = [str(long), *FAST, "--chunk-frames", "8", "--overlap", "3", "--no-cut-split", "--keep-job"]
    assert main(["batch", *args, "-o", str(tmp_path / "ref")]) == 0  # uninterrupted, in this process
    ref = results(tmp_path / "ref" / "long.mp4.job", "batch")
    capsys.readouterr()

    marker = tmp_path / "killed"
    # Chunk 1's worker exits (os._exit) after its 5th frame result on the first try only.
    monkeypatch.setenv("STYLECAST_BATCH_FAULT", f"{marker}:1:5")
    assert main(["batch", *args, "-o", str(tmp_path / "out"), "--ray", "auto", "--workers", "2"]) == 0
    assert marker.read_text().startswith("killed chunk 1 after 5 frames")
    assert "(20 frames, 1 shot, 3 chunks)" in capsys.readouterr().out
    assert results(tmp_path / "out" / "long.mp4.job", "batch") == ref and n_frames(tmp_path / "out" / "long.mp4") == 20
    assert (tmp_path / "out" / "long.mp4").read_bytes() == (tmp_path / "ref" / "long.mp4").read_bytes()
    # The retried try resumed: chunk 1's first results were written once, before the kill.
    chunk1 = next((tmp_path / "out" / "long.mp4.job" / "chunks").glob("0001_*"))
    styl = sorted((chunk1 / "out" / "styl").iterdir())
    assert len(styl) == 9 and styl[0].stat().st_mtime < marker.stat().st_mtime
