"""Render scale (models.guided) and the frame engine running it (models.engine): known sizes,
edge-aware upsampling that restores the input's detail on a real photo, device x dtype."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.engine import FrameEngine
from models.guided import RenderScale, downscale, guided_upsample
from tests.conftest import TOL, device_dtype_matrix, shared_path


def _photo(name: str = "chelsea.png", size: tuple[int, int] = (120, 160)) -> np.ndarray:
    bgr = cv2.imread(str(shared_path("data", "content", name)), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(cv2.resize(bgr, size[::-1], interpolation=cv2.INTER_AREA)[..., ::-1])


def test_sharpen_is_an_unsharp_mask_of_the_upsampled_output():
    """sharpen=s adds s x (out - gaussian_blur(out, 1 px)) before the clamp: a step edge gets
    the known over/undershoot, flat areas are untouched."""
    from models.imgops import gaussian_blur

    low = torch.zeros(1, 3, 12, 12)
    low[..., 6:] = 0.5
    low = low + 0.25
    full = F.interpolate(low, size=(24, 24), mode="nearest")
    plain = guided_upsample(low, low, full)
    sharp = guided_upsample(low, low, full, sharpen=0.5)
    want = (plain + 0.5 * (plain - gaussian_blur(plain, 1.0))).clamp(0, 1)
    assert torch.allclose(sharp, want, atol=1e-6)
    assert torch.equal(sharp[..., :, :4], plain[..., :, :4])  # flat region: unchanged
    assert float(sharp.max()) > float(plain.max())  # overshoot at the edge


def test_render_scale_sizes():
    assert RenderScale().size(480, 640) == (480, 640) and RenderScale().identity
    assert RenderScale(scale=0.5).size(480, 640) == (240, 320)
    assert RenderScale(scale=0.75).size(480, 640) == (360, 480)
    assert RenderScale(max_side=320).size(1080, 1920) == (180, 320)
    assert RenderScale(scale=0.5, max_side=800).size(1080, 1920) == (450, 800)  # the smaller wins
    assert RenderScale(max_side=4000).size(480, 640) == (480, 640)  # never upscaled
    assert RenderScale(scale=0.01).size(100, 100) == (16, 16)  # at least 16 px
    for bad in (dict(scale=0.0), dict(scale=1.5), dict(max_side=8), dict(eps=0.0), dict(sharpen=-0.1), dict(sharpen=3.0)):
        with pytest.raises(ValueError, match="RenderScale"):
            RenderScale(**bad)


@pytest.mark.parametrize("device,dtype", device_dtype_matrix())
def test_identity_stylizer_is_restored_sharper_than_bicubic(device, dtype):
    # With the identity as "network", the ideal upsampling returns the full-size input itself:
    # the guided detail must bring back most of what bicubic upsampling of the small frame lost.
    x = torch.from_numpy(_photo()).permute(2, 0, 1)[None].to(device=device, dtype=dtype) / 255.0
    small = downscale(x, (60, 80))
    out = guided_upsample(small, small, x)
    assert out.shape == x.shape and out.dtype == dtype and out.device.type == device
    bicubic = F.interpolate(small.float(), size=x.shape[-2:], mode="bicubic", align_corners=False).clamp(0, 1)
    err_g = (out.float() - x.float()).pow(2).mean().item()
    err_b = (bicubic - x.float()).pow(2).mean().item()
    assert err_g < 0.5 * err_b, (err_g, err_b)  # measured ~0.3x on CPU float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


@pytest.mark.parametrize("device,dtype", device_dtype_matrix())
def test_flat_output_stays_flat_and_same_size_is_untouched(device, dtype):
    x = torch.rand(2, 3, 40, 56, device=device, dtype=dtype)
    small = downscale(x, (20, 28))
    flat = torch.full_like(small, 0.25)  # a stylizer that ignores its input: A = 0, nothing added
    out = guided_upsample(flat, small, x)
    assert torch.allclose(out.float(), torch.full_like(out.float(), 0.25), atol=max(TOL[dtype], 1e-4) * 10)
    assert guided_upsample(x, x, x) is x


def test_shape_errors_name_expected_and_actual():
    x = torch.rand(1, 3, 40, 56)
    with pytest.raises(ValueError, match=r"low_out.*\(1, 3, 10, 10\)"):
        guided_upsample(torch.rand(1, 3, 10, 10), torch.rand(1, 3, 20, 28), x)
    with pytest.raises(ValueError, match=r"low_in: expected shape \(1,3,\*,\*\)"):
        guided_upsample(torch.rand(2, 3, 20, 28), torch.rand(2, 3, 20, 28), x)


class Recorder:
    """Identity stylizer / blender that remember the sizes they were called with."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, *xs):  # type: ignore[no-untyped-def]
        self.shapes.append(tuple(xs[0].shape))
        return xs[-1]


def test_engine_runs_network_and_temporal_at_render_size():
    frame = _photo()
    net, blender = Recorder(), Recorder()
    eng = FrameEngine(render=RenderScale(scale=0.5))
    out = eng.process_frame(frame, net, blender)
    assert out.shape == frame.shape and out.dtype == np.uint8
    assert net.shapes == [(1, 3, 60, 80)] and blender.shapes == [(1, 3, 60, 80)]
    # identity network: the output is the input, up to what the half-size frame cannot hold
    err = np.abs(out.astype(int) - frame.astype(int)).mean()
    assert err < 6.0, err
    assert set(eng.timings) >= {"upload", "stylize", "temporal", "upscale", "download"}
    full = FrameEngine().process_frame(frame, Recorder())
    assert np.array_equal(full, frame)  # scale 1: exact round trip


def test_live_cli_runs_the_network_at_the_render_scale(capsys):
    from models.cli import main

    rc = main(["live", "--source", "pattern", "--sink", "null", "--max-frames", "3", "--max-side", "96",
               "--device", "cpu", "--render-scale", "0.5", "--strength", "0.9"])
    out = capsys.readouterr().out
    assert rc == 0 and "3 frames out" in out
    assert "render: network at 48x36, guided upsampling to 96x72" in out
    rc = main(["live", "--source", "pattern", "--sink", "null", "--max-frames", "1", "--render-scale", "1.5"])
    err = capsys.readouterr().err
    assert rc == 2 and "--render-scale: expected a number in (0, 1], got 1.5" in err and "Traceback" not in err


def test_engine_blenders_use_the_injected_flow():
    calls = []

    def zero_flow(a, b):  # a GPU flow (models/flow/torch_dis.py) plugs in the same way
        calls.append(tuple(a.shape))
        return torch.zeros(a.shape[0], 2, *a.shape[-2:])

    eng = FrameEngine(render=RenderScale(scale=0.5), flow=zero_flow)
    blender = eng.blender()
    frame = _photo()
    for _ in range(2):
        eng.process_frame(frame, lambda x: x, blender)
    assert calls and all(s == (1, 3, 60, 80) for s in calls)  # at the network's size
