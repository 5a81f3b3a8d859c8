"""The CPU overlap of the frame engine and the server's worker: frame t+1's network runs while
frame t is still in its back half (temporal step, upsampling, finish), results stay in order and
equal to the sequential ones."""
from __future__ import annotations

import threading

import numpy as np
import torch
from torch import Tensor

from models.backends.synthetic import synthetic_style_net
from models.engine import FrameEngine
from models.guided import RenderScale
from stream.server.worker import FrameJob, StyleWorker

TIMEOUT = 60


class GatedBlender:
    """A blender whose call for the first frame blocks until ``gate`` is set; records the order."""

    def __init__(self) -> None:
        self.gate, self.entered = threading.Event(), threading.Event()
        self.calls: list[float] = []

    def __call__(self, frame_in: Tensor, stylized: Tensor) -> Tensor:
        if not self.calls:
            self.entered.set()
            assert self.gate.wait(TIMEOUT)
        self.calls.append(float(frame_in.mean()))
        return stylized


class CountingNet:
    def __init__(self, net) -> None:  # type: ignore[no-untyped-def]
        self.net, self.calls = net, 0

    def __call__(self, x: Tensor) -> Tensor:
        self.calls += 1
        return self.net(x)


def _frames(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    return [(rng.random((40, 56, 3)) * 80 * (i + 1)).astype(np.uint8) for i in range(n)]  # distinct brightness


def test_engine_runs_the_next_network_during_the_back_half() -> None:
    net = CountingNet(synthetic_style_net("light", seed=1).eval())
    frames = _frames(2)
    eng = FrameEngine(render=RenderScale(scale=0.5))
    blender = GatedBlender()
    try:
        with torch.inference_mode():
            first = eng.submit({0: frames[0]}, net, {0: blender})
            assert blender.entered.wait(TIMEOUT)  # frame 0 is in its back half, blocked
            second = eng.submit({0: frames[1]}, net, {0: blender})  # returns: its network ran meanwhile
            assert net.calls == 2 and not first.done() and not second.done()
            blender.gate.set()
            outs = [eng.collect(first)[0], eng.collect(second)[0]]
        assert blender.calls == [np.float32(f.mean() / 255).item() for f in frames] or np.allclose(
            blender.calls, [f.mean() / 255 for f in frames], atol=2e-3)  # blended in submission order
        seq = FrameEngine(render=RenderScale(scale=0.5))
        with torch.inference_mode():
            want = [seq.process_frame(f, net.net) for f in frames]
        for got, ref in zip(outs, want):
            assert np.array_equal(got, ref)
        assert set(eng.timings) >= {"upload", "stylize", "temporal", "upscale", "download"}
    finally:
        blender.gate.set()
        eng.close()


def test_worker_takes_the_next_frame_while_one_finishes() -> None:
    net = CountingNet(synthetic_style_net("light", seed=2).eval())
    w = StyleWorker(lambda name: net, max_side=4096)
    frames = _frames(2)
    blender = GatedBlender()
    try:
        assert w.overlaps
        w.submit(w.stylizer, "s").result(TIMEOUT)
        a = FrameJob(frame=frames[0], style="s", blender=blender)
        w.submit_frame(a)
        a.front_done.result(TIMEOUT)
        assert blender.entered.wait(TIMEOUT) and not a.future.done()
        b = FrameJob(frame=frames[1], style="s", blender=blender)
        w.submit_frame(b)
        b.front_done.result(TIMEOUT)  # the worker thread ran b's network while a is still blending
        assert net.calls == 2 and not a.future.done()
        blender.gate.set()
        ra, rb = a.future.result(TIMEOUT), b.future.result(TIMEOUT)
        assert np.allclose(blender.calls, [f.mean() / 255 for f in frames], atol=2e-3)  # in submission order
        solo = StyleWorker(lambda name: net.net, max_side=4096)
        try:
            for f, r in zip(frames, (ra, rb)):
                assert np.array_equal(r.frame, solo.submit(solo.stylize_sync, f, "s").result(TIMEOUT).frame)
        finally:
            solo.close()
    finally:
        blender.gate.set()
        w.close()
