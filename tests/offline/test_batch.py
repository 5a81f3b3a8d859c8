"""``stylecast batch`` end to end: planning (cuts, overlapping chunks), the one-process batch
against sequential ``stylecast video`` runs (byte-identical files), a corrupt input failing only
its own job, Ctrl-C then resume, scene-cut split on real footage, and seams within the E_warp
bound. The Ray tests (tests/offline/test_batch_ray.py) run the same jobs on a real local Ray."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.cli import main
from offline.batch.plan import Chunk, SplitConfig, expand_inputs, output_names, plan_chunks, shots
from tests.conftest import shared_path
from tests.media_factory import make_video

FAST = ["--method", "fast", "--style", "wave", "--device", "cpu"]


def results(job: Path, stage: str) -> dict[str, bytes]:
    """The final frames of a job, as the PNG bytes that get encoded: where a test also compares the
    encoded files, a mismatch here says the frames differ, there that the encoder does (libx264
    gave different bitstreams for identical frames on AVX-512 CPUs until models.io.video_write
    capped its SIMD level; bench/encode_determinism.py, docs/bench/media.md)."""
    files = sorted((job / "out" / stage).glob("*.png"))
    assert files, f"no results in {job}/out/{stage}"
    return {p.name: p.read_bytes() for p in files}


def n_frames(path: Path) -> int:
    from models.io import open_video

    with open_video(path) as r:
        return sum(1 for _ in r)


def test_plan_splits_at_cuts_and_overlaps_long_shots() -> None:
    assert shots(10, [4, 0, 10, 4]) == [(0, 4), (4, 10)]
    cfg = SplitConfig(chunk_frames=10, overlap=3)
    chunks = plan_chunks(34, [12], cfg)
    # shot [0,12) -> 2 cores of 6 (the second reaches 3 back); shot [12,34) -> 3 cores of 7-8
    assert chunks == (Chunk(0, 0, 6), Chunk(1, 3, 12, 3), Chunk(2, 12, 19), Chunk(3, 16, 27, 3), Chunk(4, 24, 34, 3))
    assert all(not (c.start < 12 < c.stop) for c in chunks)  # no chunk spans the cut
    covered = sorted({f for c in chunks for f in range(c.start, c.stop)})
    assert covered == list(range(34))
    assert plan_chunks(5, [], cfg) == (Chunk(0, 0, 5),)
    with pytest.raises(Exception, match="--overlap"):
        SplitConfig(chunk_frames=4, overlap=4)


def test_inputs_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "vids").mkdir()
    for n in ("b.mp4", "a.mkv", "a.mp4", "notes.txt"):
        (tmp_path / "vids" / n).write_bytes(b"x")
    frames = tmp_path / "vids" / "shot"
    frames.mkdir()
    (frames / "0001.png").write_bytes(b"x")
    found = expand_inputs([str(tmp_path / "vids")])
    assert [p.name for p in found] == ["a.mkv", "a.mp4", "b.mp4", "shot"]
    assert output_names(found, "mp4") == ["a_mkv.mp4", "a_mp4.mp4", "b.mp4", "shot.mp4"]
    assert [p.name for p in expand_inputs([str(frames)])] == ["shot"]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, bytes]]]:
    """Three short recordings (different lengths, with audio), a corrupt one, and the final
    frames three sequential ``stylecast video`` runs make of the good ones."""
    import torch

    # Module fixtures run before the per-test one-thread fixture: a different thread count may
    # round a convolution differently, and the files are compared byte for byte.
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("recs")
    src = d / "in"
    src.mkdir()
    for k, n in enumerate((5, 6, 7)):
        make_video(src / f"rec{k}.mp4", n=n, width=48, height=32)
    (src / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
    ref = d / "video"
    ref.mkdir()
    expected = {}
    for k in range(3):
        assert main(["video", str(src / f"rec{k}.mp4"), "-o", str(ref / f"rec{k}.mp4"), *FAST, "--keep-job"]) == 0
        expected[f"rec{k}.mp4"] = results(ref / f"rec{k}.mp4.job", "fast")
    return src, expected


def test_batch_matches_video_runs_and_isolates_a_corrupt_input(recordings, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    src, expected = recordings
    out = tmp_path / "out"
    assert main(["batch", str(src), "-o", str(out), *FAST, "--keep-job"]) == 1  # one failed, the others ran
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(expected)
    assert {name: results(out / f"{name}.job", "fast") for name in expected} == expected
    assert [n_frames(out / f"rec{k}.mp4") for k in range(3)] == [5, 6, 7]
    ref = src.parent / "video"  # the files of the three `stylecast video` runs, byte for byte
    assert all((out / name).read_bytes() == (ref / name).read_bytes() for name in expected)
    assert "stylecast batch: 3 done, 0 skipped, 1 failed of 4" in captured.out
    line = next(ln for ln in captured.out.splitlines() if "FAILED" in ln)
    assert "broken.mp4" in line and "cannot open" in line and "Traceback" not in captured.err
    # The same command again: nothing to redo, the summary says so.
    assert main(["batch", str(src / "rec0.mp4"), str(src / "rec1.mp4"), "-o", str(out), *FAST]) == 0
    assert "0 done, 2 skipped, 0 failed of 2" in capsys.readouterr().out


def test_finished_job_folder_deleted_without_keep_job(recordings, tmp_path: Path) -> None:
    src, _ = recordings
    assert main(["batch", str(src / "rec0.mp4"), "-o", str(tmp_path), *FAST]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["rec0.mp4"]


def test_interrupted_batch_resumes_to_the_same_output(recordings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C while the chunks of a long recording are being joined; the same command finishes the
    job from its files, and the output equals an uninterrupted batch's."""
    from offline.batch.work import Worker

    long = tmp_path / "long.mp4"
    make_video(long, n=14, width=48, height=32)
    args = [str(long), *FAST, "--chunk-frames", "6", "--overlap", "2", "--keep-job"]
    assert main(["batch", *args, "-o", str(tmp_path / "ref")]) == 0
    ref = results(tmp_path / "ref" / "long.mp4.job", "batch")

    def ctrl_c(self, *a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(Worker, "finish", ctrl_c)
    assert main(["batch", *args, "-o", str(tmp_path / "out")]) == 130
    assert "run the same command to resume" in capsys.readouterr().err
    chunks = sorted((tmp_path / "out" / "long.mp4.job" / "chunks").iterdir())
    assert len(chunks) == 3 and all((c / "out" / "fast" / "000000.png").exists() for c in chunks)
    monkeypatch.undo()
    assert main(["batch", *args, "-o", str(tmp_path / "out")]) == 0
    assert results(tmp_path / "out" / "long.mp4.job", "batch") == ref and n_frames(tmp_path / "out" / "long.mp4") == 14
    # and the file itself, byte for byte (libx264 is deterministic since models.io.video_write caps
    # its SIMD level on AVX-512 CPUs; docs/bench/media.md)
    assert (tmp_path / "out" / "long.mp4").read_bytes() == (tmp_path / "ref" / "long.mp4").read_bytes()


def _two_shot_frames(d: Path, n: int = 16, cut: int = 8) -> None:
    """A folder of frames: a moving square on a gradient, then (from ``cut``) the same, 3x darker."""
    import cv2

    from tests.media_factory import pattern

    d.mkdir()
    for i in range(n):
        img = pattern(i, 32, 48)
        cv2.imwrite(str(d / f"f{i:04d}.png"), img // 3 if i >= cut else img)


def test_split_at_a_known_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = tmp_path / "twoshots"
    _two_shot_frames(frames)
    assert main(["batch", str(frames), "-o", str(tmp_path / "out"), *FAST, "--keep-job"]) == 0
    assert "(16 frames, 2 shots, 2 chunks)" in capsys.readouterr().out
    chunks = sorted(p.name for p in (tmp_path / "out" / "twoshots.mp4.job" / "chunks").iterdir())
    assert chunks == ["0000_000000-000008", "0001_000008-000016"]


def test_scene_cut_on_real_footage(tmp_path: Path) -> None:
    """slowpan_city_cc0.mpg cuts to a new shot at frame 104 (checked by eye); nothing else cuts."""
    from offline.batch.work import Worker
    from offline.ruder.pipeline import VideoSpec

    clip = shared_path("data", "video", "clips", "slowpan_city_cc0.mpg")
    spec = VideoSpec(input=str(clip), output=str(tmp_path / "o.mp4"), job_dir=str(tmp_path / "o.mp4.job"),
                     method="fast", max_side=64, max_frames=130)
    res = Worker("cpu").call("prepare", spec, SplitConfig(chunk_frames=60, overlap=4))
    assert res["ok"], res
    plan = res["plan"]
    assert plan.cuts == (104,)
    assert [(c.start, c.stop, c.lead) for c in plan.chunks] == [(0, 52, 0), (48, 104, 4), (104, 130, 0)]


def test_seams_within_bound_on_real_footage(tmp_path: Path) -> None:
    """E_warp across the cross-faded seams within 1.5x of E_warp inside the chunks (issue 19)."""
    from offline.batch.seams import seam_report
    from offline.ruder.job import read_png, u8_to_tensor
    import torch

    clip = shared_path("data", "video", "clips", "zoomlike_dashcam.mp4")
    n = 30
    assert main(["batch", str(clip), "-o", str(tmp_path / "out"), *FAST, "--max-side", "96", "--max-frames", str(n),
                 "--chunk-frames", "10", "--overlap", "4", "--no-cut-split", "--keep-job"]) == 0
    job = tmp_path / "out" / "zoomlike_dashcam.mp4.job"
    load = lambda d: torch.cat([u8_to_tensor(read_png(job / d / f"{i:06d}.png")) for i in range(n)])  # noqa: E731
    chunks = plan_chunks(n, [], SplitConfig(chunk_frames=10, overlap=4, cut_threshold=None))
    assert len(chunks) == 3
    r = seam_report(load("frames"), load("out/batch"), chunks)
    assert r.n_seam == 10 and r.n_inside == 19
    assert np.isfinite(r.inside) and r.inside > 0
    assert r.ratio <= 1.5, r
