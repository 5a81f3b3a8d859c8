"""The live loop: latest-frame-wins dropping, deterministic file mode, camera failures, no leaks.

Synchronisation uses events with timeouts; no test asserts on timing.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch

from models.errors import UserError
from stream.loop import FrameSlot, LiveLoop, LoopConfig
from stream.sinks import FileSink, NullSink, open_sink
from stream.sources import ArraySource, PatternSource, SourceLost, WebcamSource, open_source

WAIT = 10.0  # generous timeout for events: a failure shows up as an error, never as a hang


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    yield
    leaked = [t for t in threading.enumerate() if t.name == "stylecast-capture"]
    assert not leaked, f"capture threads leaked: {leaked}"


def _frame(i: int, h: int = 16, w: int = 24) -> np.ndarray:
    return np.full((h, w, 3), i, np.uint8)


def _index(out: np.ndarray) -> int:
    return int(round(float(out.mean())))


class RecordingSink(NullSink):
    def __init__(self) -> None:
        super().__init__()
        self.indices: list[int] = []
        self.closed_ok: bool | None = None

    def write(self, frame: np.ndarray) -> bool:
        self.indices.append(_index(frame))
        return super().write(frame)

    def close(self, ok: bool = True) -> None:
        self.closed_ok = ok


def identity(x: torch.Tensor) -> torch.Tensor:
    return x


class BurstCamera:
    """Device source: frame 0, then frames 1..n as fast as the loop takes them; then ends."""

    is_device, name, fps, height, width = True, "burst camera", 30.0, 16, 24

    def __init__(self, n: int | None) -> None:
        self.n, self.i = n, 0
        self.all_read = threading.Event()
        self.first_taken = threading.Event()

    def read(self) -> np.ndarray | None:
        if self.n is None:  # endless camera at ~1 kHz
            threading.Event().wait(0.001)
        elif self.i == 1:  # frame 0 must be in flight before the burst (otherwise it is dropped too)
            assert self.first_taken.wait(WAIT)
        if self.n is not None and self.i > self.n:
            self.all_read.set()
            return None
        self.i += 1
        return _frame(self.i - 1)

    def close(self) -> None:
        pass


def test_slow_stylizer_drops_stale_frames_and_shows_the_latest() -> None:
    cam = BurstCamera(n=5)
    calls = []

    def slow(x: torch.Tensor) -> torch.Tensor:
        if not calls:  # the first frame is "in flight" until the camera delivered all others
            cam.first_taken.set()
            assert cam.all_read.wait(WAIT)
        calls.append(1)
        return x

    sink = RecordingSink()
    stats = LiveLoop(cam, sink, slow).run()
    assert sink.indices == [0, 5]  # frames 1..4 went stale while frame 0 was stylized
    assert stats.dropped == 4 and stats.processed == 2 and stats.captured == 6
    assert sink.closed_ok is True


def test_file_mode_processes_every_frame_in_order() -> None:
    src = ArraySource(np.stack([_frame(i) for i in range(12)]), fps=30.0)
    gate = threading.Event()

    def slow(x: torch.Tensor) -> torch.Tensor:
        gate.wait(0.01)  # slower than the source would deliver; never set
        return x

    sink = RecordingSink()
    stats = LiveLoop(src, sink, slow).run()
    assert sink.indices == list(range(12)) and stats.dropped == 0


@pytest.mark.parametrize("overlap", [True, False])
def test_failing_stylizer_keeps_the_frames_before_it(overlap: bool) -> None:
    """With two frames in flight (the default) the frame submitted before the failing one is
    still written, in order, before the error surfaces; the back half ran on the finisher thread."""
    src = ArraySource(np.stack([_frame(i * 20) for i in range(8)]), fps=30.0)
    calls = []
    finisher_threads = set()

    def broken(x: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("model exploded")
        return x

    def blender(frame_in: torch.Tensor, stylized: torch.Tensor) -> torch.Tensor:
        finisher_threads.add(threading.current_thread().name)
        return stylized

    sink = RecordingSink()
    with pytest.raises(RuntimeError, match="exploded"):
        LiveLoop(src, sink, broken, temporal=blender, config=LoopConfig(overlap=overlap)).run()
    assert sink.indices == [0, 20, 40, 60]
    assert all(name.startswith("stylecast-finish") for name in finisher_threads), finisher_threads


def test_max_frames_in_both_modes() -> None:
    sink = RecordingSink()
    LiveLoop(PatternSource(size=(16, 24)), sink, identity, config=LoopConfig(max_frames=3)).run()
    assert sink.frames == 3
    cam_sink = RecordingSink()
    stats = LiveLoop(BurstCamera(n=None), cam_sink, identity, config=LoopConfig(max_frames=4)).run()
    assert stats.processed == 4


def test_frame_slot_semantics() -> None:
    from stream.loop import Captured

    slot = FrameSlot(drop=True)
    for i in range(3):
        assert slot.put(Captured(i, 0.0, None))
    assert slot.get(timeout=WAIT).index == 2 and slot.dropped == 2
    with pytest.raises(TimeoutError):
        slot.get(timeout=0.01)
    slot.close()
    assert slot.get(timeout=WAIT) is None and not slot.put(Captured(9, 0.0, None))


class FakeCapture:
    """Stands in for cv2.VideoCapture: ``frames`` good reads, then failures (unplugged) or a
    read that blocks until release() (driver stuck)."""

    def __init__(self, opened: bool = True, frames: int = 5, hang: bool = False) -> None:
        self.opened, self.left, self.hang = opened, frames, hang
        self.released = threading.Event()

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.opened

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.left > 0:
            self.left -= 1
            bgr = np.zeros((16, 24, 3), np.uint8)
            bgr[..., 2] = 200  # red in BGR order
            return True, bgr
        if self.hang:
            self.released.wait(WAIT)
        return False, None

    def get(self, prop: int) -> float:
        return 0.0

    def release(self) -> None:
        self.released.set()


def test_missing_camera_is_a_clear_error() -> None:
    cap = FakeCapture(opened=False)
    with pytest.raises(UserError, match="cannot open camera 3"):
        open_source("3", capture_factory=lambda dev: cap)
    assert cap.released.is_set()
    with pytest.raises(UserError, match="camera device not found: /dev/video99"):
        open_source("/dev/video99")


def test_camera_unplugged_mid_stream_stops_cleanly(tmp_path: Path) -> None:
    cap = FakeCapture(frames=5)
    cam = WebcamSource(0, capture_factory=lambda dev: cap)
    assert cam.fps == 30.0  # driver reported 0: sane default
    sink = RecordingSink()
    with pytest.raises(SourceLost, match="camera 0 stopped delivering frames after 5 frames"):
        LiveLoop(cam, sink, identity).run()
    assert cap.released.is_set() and sink.closed_ok is True  # what was shown so far is kept
    assert sink.last is not None and tuple(sink.last[0, 0]) == (200, 0, 0)  # BGR -> RGB


def test_stalled_camera_times_out_without_hanging() -> None:
    cap = FakeCapture(frames=2, hang=True)
    cam = WebcamSource(0, capture_factory=lambda dev: cap)
    with pytest.raises(UserError, match="camera 0 delivered no frame for"):
        LiveLoop(cam, RecordingSink(), identity, config=LoopConfig(stall_timeout_s=0.2, join_timeout_s=0.2)).run()
    assert cap.released.is_set()


def test_failing_stylizer_leaves_no_output_file(tmp_path: Path) -> None:
    src = ArraySource(np.stack([_frame(i * 20, 32, 32) for i in range(6)]), fps=24.0)
    n = []

    def broken(x: torch.Tensor) -> torch.Tensor:
        n.append(1)
        if len(n) == 4:
            raise RuntimeError("model exploded")
        return x

    out = tmp_path / "o.mp4"
    with pytest.raises(RuntimeError, match="exploded"):
        LiveLoop(src, FileSink(out, fps=24.0), broken).run()
    assert list(tmp_path.iterdir()) == []


def test_file_to_file_with_temporal_is_deterministic(tmp_path: Path) -> None:
    from models.io import open_video
    from models.io.sample import sample_video
    from models.temporal.blender import TemporalBlender

    clip = sample_video(tmp_path / "in.mp4", n=8, size=(48, 64))
    outs = []
    for k in range(2):
        out = tmp_path / f"out{k}.mp4"
        src = open_source(str(clip))
        LiveLoop(src, open_sink(str(out), fps=src.fps), lambda x: 1.0 - x, temporal=TemporalBlender()).run()
        with open_video(out) as r:
            outs.append(np.stack(list(r)))
    assert outs[0].shape == (8, 48, 64, 3)
    np.testing.assert_array_equal(outs[0], outs[1])


def test_realtime_pacing_drops_for_a_slow_model() -> None:
    """--realtime on a 200 fps pattern with a model that waits for the 5th capture: the output
    skips frames instead of queueing them."""
    src = PatternSource(size=(16, 24), fps=200.0, n=40)
    seen: list[int] = []

    def slow(x: torch.Tensor) -> torch.Tensor:
        threading.Event().wait(0.03)  # 30 ms per frame vs 5 ms per capture
        seen.append(1)
        return x

    stats = LiveLoop(src, NullSink(), slow, config=LoopConfig(realtime=True)).run()
    assert stats.dropped > 0 and stats.processed + stats.dropped == stats.captured


def test_sources_and_sinks_parse() -> None:
    a = ArraySource(np.stack([_frame(i) for i in range(3)]), loops=2)
    assert [_index(a.read()) for _ in range(7)] == [0, 1, 2, 1, 0, 1, 2] and a.read() is None
    p1, p2 = PatternSource(size=(32, 48), n=2), PatternSource(size=(32, 48))
    f = p1.read()
    assert f.shape == (32, 48, 3) and np.array_equal(f, p2.read())
    assert p1.read() is not None and p1.read() is None
    with pytest.raises(UserError, match="unknown sink 'screen'"):
        open_sink("screen", fps=30.0)
    with pytest.raises(UserError, match="source not found"):
        open_source("no_such_clip.mp4")


def test_cli_live_pattern_to_file(tmp_path: Path) -> None:
    from models.styles.checkpoint import make_metadata, save_style
    from models.cli import main
    from models.io import open_video
    from models.nets.transformer import TransformerNet, preset

    ckpt = save_style(tmp_path / "tiny.safetensors", TransformerNet(preset("light")), make_metadata(name="tiny", preset="light"))
    out = tmp_path / "live.mp4"
    rc = main(["live", "--source", "pattern", "--sink", str(out), "--max-frames", "3", "--max-side", "48",
               "-s", str(ckpt), "--device", "cpu"])
    assert rc == 0
    with open_video(out) as r:
        frames = list(r)
    assert len(frames) == 3 and frames[0].shape == (36, 48, 3)
    assert main(["live", "--source", "pattern", "--sink", str(tmp_path / "x.mp4"), "-s", str(ckpt)]) == 2
    assert not (tmp_path / "x.mp4").exists()


def test_cli_camera_unplugged_reports_and_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import stream.sources
    from models.styles.checkpoint import make_metadata, save_style
    from models.cli import main
    from models.nets.transformer import TransformerNet, preset

    ckpt = save_style(tmp_path / "tiny.safetensors", TransformerNet(preset("light")), make_metadata(name="tiny", preset="light"))
    monkeypatch.setattr(stream.sources.cv2, "VideoCapture", lambda dev: FakeCapture(frames=3))
    rc = main(["live", "--source", "0", "--sink", "null", "-s", str(ckpt), "--device", "cpu", "--max-side", "32"])
    err = capsys.readouterr()
    assert rc == 1 and "camera 0 stopped delivering frames after 3 frames" in err.err
    assert re.search(r"^[1-3] frames out, 3 captured", err.out, re.M)  # the summary is still printed
