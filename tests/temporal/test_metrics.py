"""E_warp (Lai et al. 2018) on videos with known motion."""
from __future__ import annotations

import pytest
import torch

from models.temporal.metrics import pair_warping_errors, warping_error


def _shifted_video(t: int = 4, h: int = 24, w: int = 32, step: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """A random texture panning `step` px left per frame, and its exact flows t -> t+1."""
    g = torch.Generator().manual_seed(0)
    base = torch.rand(1, 3, h, w + step * t, generator=g)
    frames = torch.cat([base[..., step * i:step * i + w] for i in range(t)])
    # frame[t+1][x] = base[x + step*(t+1)] = frame[t][x + step]: content moves left, so the
    # pixel x of frame t is found at x - step in frame t+1.
    flow = torch.zeros(t - 1, 2, h, w)
    flow[:, 0] = -step
    return frames, flow


def test_static_video_has_zero_error() -> None:
    frames = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(1)).expand(3, -1, -1, -1).contiguous()
    assert warping_error(frames, frames) == pytest.approx(0.0, abs=1e-12)


def test_shifted_copy_with_known_flow() -> None:
    frames, flow = _shifted_video()
    assert warping_error(frames, frames, flow) == pytest.approx(0.0, abs=1e-12)
    # a stylization that flickers by +-d in brightness every frame: error is exactly d^2*4
    d = 0.05
    flicker = torch.tensor([0.0, d, -d, d]).view(-1, 1, 1, 1)
    stylized = (frames * 0.5 + 0.25) + flicker
    errs = pair_warping_errors(frames, stylized, flow)
    torch.testing.assert_close(errs, torch.tensor([d**2, (2 * d) ** 2, (2 * d) ** 2], dtype=torch.float64), rtol=1e-5, atol=1e-12)


def test_estimated_flow_recovers_shift() -> None:
    """Without a given flow, DIS on the original finds the pan: a consistent copy scores ~0,
    a flickering one scores about the flicker energy."""
    g = torch.Generator().manual_seed(0)
    # smooth random texture (bicubic-upsampled noise) that DIS can track, panning 3 px per frame
    base = torch.nn.functional.interpolate(torch.rand(1, 3, 16, 26, generator=g), size=(64, 105), mode="bicubic")
    base = base.clamp(0, 1)
    frames = torch.cat([base[..., 3 * i:3 * i + 96] for i in range(3)])
    assert warping_error(frames, frames) < 1e-4
    flick = frames + torch.tensor([0.0, 0.1, 0.0]).view(-1, 1, 1, 1)
    assert warping_error(frames, flick) == pytest.approx(0.01, rel=0.05)


def test_errors_name_the_problem() -> None:
    a = torch.rand(3, 3, 8, 8)
    with pytest.raises(ValueError, match="at least 2 frames"):
        warping_error(a[:1], a[:1])
    with pytest.raises(ValueError, match="expected 2 flows"):
        warping_error(a, a, torch.zeros(3, 2, 8, 8))
    with pytest.raises(ValueError, match="stylized"):
        warping_error(a, a[:2])
    with pytest.raises(ValueError, match="flow size"):
        warping_error(a, a, torch.zeros(2, 2, 8, 9))


def test_cli_eval_static_video(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`stylecast eval` on a static clip against itself: E_warp 0 and content loss 0."""
    import numpy as np

    from models.cli import main
    from models.io import VideoWriter

    g = np.random.default_rng(0)
    img = np.repeat(np.repeat(g.integers(0, 255, (8, 12, 3), dtype=np.uint8), 4, 0), 4, 1)
    clip = tmp_path / "static.mp4"
    with VideoWriter(clip, width=48, height=32, fps=10, crf=0) as w:
        for _ in range(3):
            w.write(img)
    assert main(["eval", str(clip), str(clip)]) == 0
    out = capsys.readouterr().out
    assert "E_warp: 0.000000" in out and "content loss (efficientnet_lite0 stage3): 0\n" in out
    assert main(["eval", str(clip), str(tmp_path / "missing.mp4")]) == 2
