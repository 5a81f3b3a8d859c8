"""The live blend at 720p on a real clip: the flow grid must be fine enough for the network's
strokes (issue 17 item 4; docs/bench/live.md §6i). With the flow on a 640 px grid upsampled 2x
the blend left ~0.4x of per-frame E_warp at 720p; the default grid (up to 1280 px: full size at
720p) leaves <= 0.3x. Bundled wave, eager fp32, cockatoo frames 40-44, ~20 s on one core."""
from __future__ import annotations

import itertools

import torch

from models.flow.estimators import DISConfig, DISFlow
from models.io.image import to_tensor
from models.io.video import open_video
from models.styles.registry import load_stylizer
from models.temporal.blender import TemporalBlender, TemporalConfig
from models.temporal.metrics import pair_warping_errors
from tests.conftest import shared_path


def _frames(path, start: int, n: int) -> torch.Tensor:
    with open_video(path) as reader:
        return to_tensor(list(itertools.islice(reader, start, start + n)), dtype=torch.float32)


@torch.no_grad()
def test_default_flow_grid_keeps_720p_flicker_down() -> None:
    x = _frames(shared_path("data", "video", "cockatoo_720p.mp4"), 40, 5)
    assert x.shape[-2:] == (720, 1280)
    net = load_stylizer("wave")
    per = torch.cat([net(x[i:i + 1]).float() for i in range(len(x))])
    est = DISFlow(DISConfig(preset="medium", max_side=None))  # the metric's flow: full size, on the input
    fl = torch.cat([est(x[i:i + 1], x[i + 1:i + 2]) for i in range(len(x) - 1)])
    fb = torch.cat([est(x[i + 1:i + 2], x[i:i + 1]) for i in range(len(x) - 1)])

    def ewarp(out: torch.Tensor) -> float:
        return float(pair_warping_errors(x, out, fl, flow_back=fb).mean())

    def blended(cfg: TemporalConfig) -> torch.Tensor:
        b = TemporalBlender(cfg)
        return torch.cat([b(x[i:i + 1], per[i:i + 1]) for i in range(len(x))])

    base = ewarp(per)
    default = ewarp(blended(TemporalConfig())) / base
    coarse = ewarp(blended(TemporalConfig(flow_max_side=640))) / base
    # measured (torch 2.13 CPU, 5 frames): default 0.180, 640 px grid 0.431 (6-frame report window: 0.17 / 0.39)
    assert default < 0.30, (default, coarse)
    assert default < 0.7 * coarse, (default, coarse)
