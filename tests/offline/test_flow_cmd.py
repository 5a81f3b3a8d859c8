"""``stylecast flow A B -o DIR`` on real MPI-Sintel frames against the ground truth, and the
DeepFlow estimator on a clip with exact known motion."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.cli import main
from models.flow.consistency import consistency_weights
from models.flow.files import read_flo
from offline.ruder.job import read_png, u8_to_tensor
from offline.ruder.synthetic import pan_clip
from tests.conftest import shared_path


def test_flow_command_on_sintel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = shared_path("data", "flow", "sintel", "alley_1")
    # A = frame 3, B = frame 2: backward.flo is 2->3 (the ground truth's direction) and the
    # weights live on frame 2's grid, where the ground-truth occlusion mask is defined.
    rc = main(["flow", str(scene / "clean" / "frame_0003.png"), str(scene / "clean" / "frame_0002.png"),
               "-o", str(tmp_path / "f")])
    assert rc == 0
    fwd, bwd = read_flo(tmp_path / "f" / "forward.flo"), read_flo(tmp_path / "f" / "backward.flo")
    assert fwd.shape == bwd.shape == (436, 1024, 2)
    png = cv2.imread(str(tmp_path / "f" / "consistency.png"), cv2.IMREAD_UNCHANGED)
    assert png.dtype == np.uint8 and png.shape == (436, 1024) and set(np.unique(png)) <= {0, 255}
    # the very same check as the live pipeline, from the written flows
    c = consistency_weights(torch.from_numpy(bwd).permute(2, 0, 1)[None], torch.from_numpy(fwd).permute(2, 0, 1)[None])
    assert np.array_equal(png == 255, c[0, 0].numpy() == 1)

    gt = read_flo(scene / "flow" / "frame_0002.flo")
    occ = cv2.imread(str(scene / "occlusions" / "frame_0002.png"), 0) > 127
    valid = cv2.imread(str(scene / "invalid" / "frame_0002.png"), 0) <= 127
    epe = np.linalg.norm(bwd - gt, axis=-1)[valid & ~occ].mean()
    assert epe < 0.6  # DIS medium measures 0.28 px here
    unreliable = (png == 0) & valid
    precision = (unreliable & occ).sum() / unreliable.sum()
    recall = (unreliable & occ).sum() / (occ & valid).sum()
    chance = occ[valid].mean()  # 2.2 % of the pixels are occluded
    assert precision > 3 * chance and recall > 0.15, (precision, recall, chance)


def test_flow_command_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene = shared_path("data", "flow", "sintel", "alley_1")
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((10, 12, 3), np.uint8))
    assert main(["flow", str(scene / "clean" / "frame_0002.png"), str(small), "-o", str(tmp_path / "o")]) == 2
    assert "differ in size" in capsys.readouterr().err
    assert main(["flow", str(tmp_path / "nope.png"), str(small), "-o", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_deepflow_recovers_known_motion() -> None:
    from models.flow.deepflow import DeepFlow

    tex = read_png(shared_path("data", "content", "kodim03.png"))
    tex = cv2.resize(tex, (140, 110), interpolation=cv2.INTER_AREA)
    a, b = (u8_to_tensor(f) for f in pan_clip(tex, n=2, size=(80, 112), step=(3, -2)))
    flow = DeepFlow()(a, b)
    assert flow.shape == (1, 2, 80, 112) and flow.dtype == torch.float32
    inner = flow[0, :, 8:-8, 8:-8]  # exact flow a->b is -(b-a)*step = (-3, +2)
    assert (inner[0] + 3).abs().median() < 0.1 and (inner[1] - 2).abs().median() < 0.1
