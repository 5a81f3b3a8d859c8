"""GpuPipeline on CPU: uint8 in -> uint8 out equals the textbook computation; several streams
batched give the same per-stream results as one-by-one; per-stream blender state. CUDA variants
are marked ``cuda``."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch import Tensor

from models.backends.synthetic import synthetic_style_net
from models.gpu_pipeline import GpuPipeline, PerResolution
from tests.conftest import shared_path

SIZE = (40, 64)  # H, W: small, so the suite stays fast


def _photo(name: str, size: tuple[int, int] = SIZE) -> np.ndarray:
    bgr = cv2.imread(str(shared_path("data", "content", name)), cv2.IMREAD_COLOR)
    return np.ascontiguousarray(cv2.resize(bgr, size[::-1], interpolation=cv2.INTER_AREA)[..., ::-1])


@pytest.fixture(scope="module")
def net():
    return synthetic_style_net("light", seed=2)


class CountingStylizer:
    def __init__(self, net) -> None:
        self.net, self.batches = net, []

    def __call__(self, x: Tensor) -> Tensor:
        self.batches.append(tuple(x.shape))
        return self.net(x)


class EmaBlender:
    """Stateful stand-in for models.temporal.blender.TemporalBlender: out = 0.5 * (stylized + previous out)."""

    def __init__(self) -> None:
        self.prev: Tensor | None = None

    def __call__(self, frame_in: Tensor, stylized: Tensor) -> Tensor:
        out = stylized if self.prev is None else 0.5 * (stylized + self.prev)
        self.prev = out
        return out


def reference(net, frames: list[np.ndarray], blender=None) -> list[np.ndarray]:
    """The computation the pipeline must reproduce, written independently, one frame at a time."""
    outs = []
    for f in frames:
        x = torch.from_numpy(f.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
        with torch.no_grad():
            y = net(x)
            if blender is not None:
                y = blender(x, y)
        outs.append(np.clip(np.rint(y[0].permute(1, 2, 0).numpy() * 255.0), 0, 255).astype(np.uint8))
    return outs


def assert_same_image(a: np.ndarray, b: np.ndarray) -> None:
    # Batched / channels_last convolutions may differ by float rounding (~1e-6), which can flip a
    # .5 rounding case: allow 1 grey level on at most 0.1 % of values, nothing more.
    assert a.shape == b.shape and a.dtype == b.dtype == np.uint8
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() <= 1e-3, (diff.max(), (diff > 0).mean())


def test_uint8_in_uint8_out_matches_reference(net):
    frame = _photo("chelsea.png")
    out = GpuPipeline(net).process({"cam": frame})
    assert list(out) == ["cam"]
    assert_same_image(out["cam"], reference(net, [frame])[0])
    assert 20 < out["cam"].std()  # a real stylized image, not a flat/black one


def test_batched_streams_equal_one_by_one_with_per_stream_state(net):
    names = ["chelsea.png", "coffee.png", "kodim03.png"]
    clips = {n: [_photo(n), _photo(n)[::-1].copy(), _photo(n)[:, ::-1].copy()] for n in names}
    counting = CountingStylizer(net)
    batched = GpuPipeline(counting, blender_factory=EmaBlender)
    got = {n: [] for n in names}
    for t in range(3):
        for n, f in batched.process({n: clips[n][t] for n in names}).items():
            got[n].append(f)
    assert counting.batches == [(3, 3, *SIZE)] * 3  # one forward pass per time step for 3 streams
    for n in names:
        solo = GpuPipeline(net, blender_factory=EmaBlender)
        alone = [solo.process({n: f})[n] for f in clips[n]]
        expect = reference(net, clips[n], EmaBlender())
        for a, b, c in zip(got[n], alone, expect):
            assert_same_image(a, b)
            assert_same_image(a, c)


def test_mixed_resolutions_are_grouped_and_order_kept(net):
    counting = CountingStylizer(net)
    small = _photo("coffee.png", (24, 32))
    out = GpuPipeline(counting).process({"a": _photo("chelsea.png"), "b": small, "c": _photo("amber.jpg")})
    assert list(out) == ["a", "b", "c"] and out["b"].shape == (24, 32, 3)
    assert sorted(counting.batches) == sorted([(2, 3, *SIZE), (1, 3, 24, 32)])
    assert_same_image(out["b"], reference(net, [small])[0])


def test_reset_forgets_stream_state(net):
    p = GpuPipeline(net, blender_factory=EmaBlender)
    a, b = _photo("chelsea.png"), _photo("coffee.png")
    p.process({"s": a})
    assert not np.array_equal(p.process({"s": b})["s"], reference(net, [b])[0])  # blended with a
    p.reset("s")
    assert_same_image(p.process({"s": b})["s"], reference(net, [b])[0])


def test_per_resolution_builds_one_stylizer_per_size(net):
    built = []

    def factory(h: int, w: int):
        built.append((h, w))
        return net

    p = GpuPipeline(PerResolution(factory))
    for _ in range(2):
        p.process({"a": _photo("chelsea.png"), "b": _photo("coffee.png", (24, 32))})
    assert sorted(built) == [(24, 32), SIZE]


@pytest.mark.parametrize("bad", [np.zeros((8, 8, 3), np.float32), np.zeros((8, 8), np.uint8), "frame"])
def test_bad_frames_are_rejected_clearly(net, bad):
    with pytest.raises(ValueError, match="expected HxWx3 uint8 numpy RGB"):
        GpuPipeline(net).process({"s": bad})


@pytest.mark.cuda
def test_cuda_pipeline_overlapped_matches_cpu(net):
    frames = [_photo(n) for n in ("chelsea.png", "coffee.png", "kodim03.png")]
    gpu = GpuPipeline(synthetic_style_net("light", seed=2).cuda().half(), device="cuda", depth=2)
    pending = [gpu.submit({"s": f}) for f in frames]  # 3 in flight with a ring of 2 slots
    cpu = reference(net, frames)
    for p, ref in zip(pending, cpu):
        out = p.result()["s"]
        diff = np.abs(out.astype(int) - ref.astype(int))
        assert diff.mean() < 1.0 and diff.max() <= 12  # fp16 vs fp32


def test_benchmark_frames_are_laid_out_like_decoded_frames(net):
    """The GPU bench's sample frame must be C-contiguous: a CHW-ordered HxWx3 array made the
    first H100 run time an ~8 ms strided host copy per 1080p frame instead of the pipeline.
    Strided frames still work (same output), only slower."""
    from models.cli.bench_harness import moving_frames, sample_u8

    frame = sample_u8(36, 52)
    assert frame.shape == (36, 52, 3) and frame.dtype == np.uint8 and frame.flags["C_CONTIGUOUS"]
    assert all(f.flags["C_CONTIGUOUS"] for f in moving_frames(36, 52, n=2))
    pipe = GpuPipeline(net, device="cpu")
    strided = np.asfortranarray(frame)
    assert not strided.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(pipe.process({"a": strided})["a"], pipe.process({"a": frame})["a"])
