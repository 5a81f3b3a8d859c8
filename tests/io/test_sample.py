"""models.io.sample: deterministic procedural clip whose ground-truth flow is exact."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models.io import open_video, to_tensor
from models.io.sample import sample_flow, sample_frames, sample_video
from models.flow.warp import warp

N, SIZE = 10, (96, 128)


def test_frames_are_deterministic_and_seeded() -> None:
    a = sample_frames(N, SIZE, seed=0)
    assert a.shape == (N, 96, 128, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, sample_frames(N, SIZE, seed=0))
    assert np.abs(a.astype(int) - sample_frames(N, SIZE, seed=1)).mean() > 5
    assert 40 < a.mean() < 200 and a.std() > 20  # real content, not flat
    assert np.abs(a[1:].astype(int) - a[:-1]).mean() > 2  # the camera moves


def test_ground_truth_flow_warps_previous_frame_onto_current() -> None:
    frames = to_tensor(sample_frames(N, SIZE))
    gt = sample_flow(N, SIZE)
    assert gt.flow.shape == (N - 1, 2, 96, 128) and gt.flow.dtype == torch.float32
    assert gt.occluded.shape == (N - 1, 1, 96, 128)
    cur, prev = frames[1:], frames[:-1]
    err = (warp(prev, gt.flow) - cur).abs().mean(1, keepdim=True)
    vis = 1.0 - gt.occluded
    err_vis = (err * vis).sum() / vis.sum()
    still = ((prev - cur).abs().mean(1, keepdim=True) * vis).sum() / vis.sum()
    # Exact flow: only bilinear resampling of smooth texture + uint8 rounding remain.
    assert err_vis * 255 < 1.0
    assert err_vis < 0.15 * still
    assert torch.quantile(err[vis > 0], 0.99) * 255 < 3.0
    # The mask flags real occlusions (behind the disc, entering the view): large errors there.
    occ = gt.occluded > 0
    assert 0.002 < occ.float().mean() < 0.2
    assert err[occ].mean() > 10 * err_vis


def test_background_flow_is_the_camera_pan_and_zoom() -> None:
    # Camera: world = c_t + s_t * (x - centre), c_t = c_0 + (1.7, 0.6) t, s_t = 0.994**t. For a
    # static world point, flow t->t-1 = (c_t - c_{t-1}) / s_{t-1} + (s_t / s_{t-1} - 1) (x - centre).
    h, w = 97, 129
    gt = sample_flow(4, (h, w), seed=3)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    for t in range(1, 4):
        s_prev = 0.994 ** (t - 1)
        mx = 1.7 / s_prev + (0.994 - 1) * (xs - (w - 1) / 2)
        my = 0.6 / s_prev + (0.994 - 1) * (ys - (h - 1) / 2)
        f = gt.flow[t - 1].double()
        match = ((f[0] - mx).abs() < 1e-3) & ((f[1] - my).abs() < 1e-3)
        assert 0.75 < match.double().mean() < 0.99  # background follows the camera, disc does not


def test_sample_video_writes_all_frames(tmp_path: Path) -> None:
    out = sample_video(tmp_path / "s.mp4", n=6, size=(48, 64), fps=24)
    ref = sample_frames(6, (48, 64))
    with open_video(out) as r:
        assert (r.width, r.height, r.fps, r.has_audio) == (64, 48, 24, False)
        got = np.stack(list(r))
    assert got.shape == ref.shape and np.abs(got.astype(int) - ref).mean() < 4


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="size >= \\(16, 16\\)"):
        sample_frames(2, (8, 64))
    with pytest.raises(ValueError, match="n >= 2"):
        sample_flow(1, SIZE)


def test_dis_flow_recovers_the_ground_truth_in_the_same_convention() -> None:
    # Cross-check with an independent estimator: models.flow.estimators's "flow a->b" with
    # warp(b, flow) ~= a is the sample's backward flow when a = frame t, b = frame t-1.
    from models.flow.estimators import DISConfig, DISFlow

    frames = to_tensor(sample_frames(6, (120, 160)))
    gt = sample_flow(6, (120, 160))
    est = DISFlow(DISConfig(preset="medium"))(frames[1:], frames[:-1])
    vis = 1.0 - gt.occluded
    epe = ((est - gt.flow).norm(dim=1, keepdim=True) * vis).sum() / vis.sum()
    zero = (gt.flow.norm(dim=1, keepdim=True) * vis).sum() / vis.sum()
    assert epe < 0.4 and epe < 0.2 * zero  # measured: 0.12 px vs 1.97 px for zero flow
