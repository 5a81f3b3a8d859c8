"""offline.ruder.disk: the job's disk estimate on known numbers, and the warning `stylecast
video` prints before starting when the rest of a job will not fit (the job still runs)."""
from __future__ import annotations

from collections import namedtuple
from pathlib import Path

import pytest

from offline.ruder import disk


def test_estimate_known_values() -> None:
    # 100 frames at 1000x500: ruder with J = {1,10,20,40} -> 8 flows and 1 result per frame
    assert disk.method_counts("ruder", long_term=(1, 10, 20, 40)) == (8, 1)
    assert disk.method_counts("multipass", passes=15) == (2, 15)
    assert disk.method_counts("fast") == (2, 4)
    with pytest.raises(ValueError, match="expected ruder"):
        disk.method_counts("slow")
    est = disk.estimate(n_frames=100, height=500, width=1000, frame_png_bytes=400_000, flows_per_frame=8,
                        results_per_frame=1)
    assert est.flows == int(100 * 8 * 500 * 1000 * disk.FLOW_BYTES_PER_PIXEL)  # 1.04 GB
    assert est.results == int(100 * 400_000 * disk.RESULT_VS_FRAME)            # 60 MB
    assert est.total == est.flows + est.results


def test_warning_only_when_short(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    usage = namedtuple("usage", "total used free")
    need = disk.DiskEstimate(flows=3_000_000_000, results=1_000_000_000)
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda p: usage(10**12, 0, 5 * 10**9))
    assert disk.warning(tmp_path, need) is None
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda p: usage(10**12, 0, 2 * 10**9))
    msg = disk.warning(tmp_path, need)
    assert msg is not None and "4.0 GB more" in msg and "2.0 GB are free" in msg and "continue" in msg


def test_video_warns_and_still_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A real `fast` job on 4 tiny frames with the disk reported nearly full: the warning is
    printed before the work and the job completes (the estimate is advice, not a refusal)."""
    import numpy as np

    from models.io.image import write_image
    from offline.ruder.pipeline import VideoSpec, run_video

    frames = tmp_path / "in"
    frames.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        write_image(frames / f"f{i}.png", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda p: usage(10**12, 0, 1000))
    out = run_video(VideoSpec(input=str(frames), output=str(tmp_path / "out"), method="fast", device="cpu"),
                    stylizer=lambda x: 1 - x)
    assert "may need about" in capsys.readouterr().err
    assert len(list(out.iterdir())) == 4
