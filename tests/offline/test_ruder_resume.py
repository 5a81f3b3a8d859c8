"""Resumable jobs: a run killed after frame k (KeyboardInterrupt from a progress callback, as
Ctrl-C would raise it) and restarted with the same command gives byte-identical frames to an
uninterrupted run, and leaves no partial output behind."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from models.errors import UserError
from offline.ruder.config import MultipassConfig, RuderConfig
from offline.ruder.job import Job
from tests.offline.test_ruder_methods import clip, loss_net, one_thread, run_method, small_optim  # noqa: F401


def _interrupt_at(stage: str, frame: int):
    def hook(s: str, i: int) -> None:
        if s == stage and i == frame:
            raise KeyboardInterrupt

    return hook


def _settings(root: Path) -> dict:
    import json

    return json.loads((root / "job" / "job.json").read_text())["settings"]


def _outputs(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((root / "out").iterdir())]


@pytest.mark.parametrize("method", ["ruder", "multipass"])
def test_resume_after_interrupt_is_identical(tmp_path: Path, clip: list, loss_net: torch.nn.Module, method: str) -> None:
    cfgs = dict(
        ruder=RuderConfig(optim=small_optim(iterations=6, first_iterations=8), long_term=(1, 2)),
        multipass=MultipassConfig(optim=small_optim(iterations=4, first_iterations=None, init="random",
                                                    temporal_weight=3.25e7), passes=2, temporal_after=2),
    )
    kw = dict(method=method, ruder=cfgs["ruder"], multipass=cfgs["multipass"])
    full, _ = run_method(tmp_path / "a", clip, loss_net, **kw)

    stop_stage, stop_frame = ("ruder", 2) if method == "ruder" else ("pass02", 3)  # pass 2 runs backwards
    with pytest.raises(KeyboardInterrupt):
        run_method(tmp_path / "b", clip, loss_net, on_frame=_interrupt_at(stop_stage, stop_frame), **kw)
    assert not (tmp_path / "b" / "out").exists()  # no partial output
    done = sorted(p.name for p in (tmp_path / "b" / "job" / "out" / stop_stage).iterdir())
    assert len(done) < len(clip) and not any(n.endswith(".part") for n in done)

    resumed, _ = run_method(tmp_path / "b", clip, loss_net, **kw)
    assert torch.equal(resumed, full)
    assert _outputs(tmp_path / "b") == _outputs(tmp_path / "a")


def test_job_refuses_different_settings(tmp_path: Path) -> None:
    Job(tmp_path / "job", {"method": "ruder", "iterations": 10})
    Job(tmp_path / "job", {"method": "ruder", "iterations": 10})  # same settings: resumes
    with pytest.raises(UserError, match="different settings"):
        Job(tmp_path / "job", {"method": "ruder", "iterations": 20})
    (tmp_path / "job" / "frames").mkdir()
    Job(tmp_path / "job", {"method": "ruder", "iterations": 20}, restart=True)
    assert not (tmp_path / "job" / "frames").exists()
    shutil.rmtree(tmp_path / "job")


def test_computed_flows_are_cached_as_png_and_resume_is_identical(tmp_path: Path, clip: list) -> None:
    """No flows placed beforehand: the job computes DIS flows and caches them as KITTI 16-bit
    PNGs (models.flow.files), and a resumed run (killed in the forward pass) reads back exactly the
    flows the uninterrupted one used: byte-identical frames."""
    from offline.ruder.synthetic import write_pan_job_inputs
    from tests.offline.test_ruder_methods import STEP

    stylize = lambda x: (1.0 - x).clamp(0, 1)  # noqa: E731 - any deterministic stylizer will do
    for run in ("a", "b"):
        write_pan_job_inputs(tmp_path / run / "in", tmp_path / run / "job" / "flows", clip, STEP)
        shutil.rmtree(tmp_path / run / "job" / "flows")  # no exact flows: the job estimates them
    full, _ = run_method(tmp_path / "a", clip, None, method="fast", stylizer=stylize)
    cached = sorted((tmp_path / "a" / "job" / "flows").iterdir())
    assert cached and all(p.suffix == ".png" for p in cached)
    # a flow computed now equals the same flow read back later (a resume after an interrupt
    # that fell between writing a flow and saving the frame that used it)
    from models.flow.estimators import DISConfig, DISFlow
    from offline.ruder.flowcache import FlowCache

    job = Job(tmp_path / "a" / "job", _settings(tmp_path / "a"))
    cached[0].unlink()
    a, b = (int(v) for v in cached[0].stem.split("_")[1:])
    fresh = FlowCache(job, DISFlow(DISConfig(preset="medium", max_side=None))).flow(a, b)
    assert cached[0].exists()
    assert torch.equal(FlowCache(job, lambda *x: 1 / 0).flow(a, b), fresh)  # read back, not recomputed
    with pytest.raises(KeyboardInterrupt):
        run_method(tmp_path / "b", clip, None, method="fast", stylizer=stylize, on_frame=_interrupt_at("fwd", 3))
    resumed, _ = run_method(tmp_path / "b", clip, None, method="fast", stylizer=stylize)
    assert torch.equal(resumed, full)
    assert _outputs(tmp_path / "b") == _outputs(tmp_path / "a")
