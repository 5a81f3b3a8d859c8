"""Keyboard control of `stylecast live` (stream.controls): keys switch styles, colours and
flicker reduction between frames, through the window sink's key dispatch and the real loop."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from stream.controls import LiveControls, style_cycle
from stream.loop import LiveLoop, LoopConfig
from stream.sinks import NullSink, WindowSink
from stream.sources import ArraySource


def fill(level: float):
    return lambda x: torch.full_like(x, level)


def make(loop, **kw) -> tuple[LiveControls, list, list]:
    loads: list[tuple[str, float | None]] = []
    said: list[str] = []
    levels = {"a": 0.1, "b": 0.5, "c": 0.9}

    def load(spec: str, colors: float | None):
        loads.append((spec, colors))
        return fill(levels[spec] + (0.05 if colors else 0.0))

    blenders = iter(range(1000))
    ctl = LiveControls(loop, styles=["a", "b", "c"], current="a", load=load,
                       colors=lambda s: 1.0 if s == "c" else 0.0, make_temporal=lambda: f"blender{next(blenders)}",
                       report=said.append, **kw)
    return ctl, loads, said


def level(loop) -> float:
    return float(loop.stylizer(torch.zeros(1, 3, 2, 2))[0, 0, 0, 0])


def test_keys_switch_styles_colours_and_temporal() -> None:
    loop = SimpleNamespace(stylizer=fill(0.1), temporal="blender-start")
    ctl, loads, said = make(loop, initial=loop.stylizer)
    ctl.on_key("n")
    assert level(loop) == pytest.approx(0.5) and loop.temporal == "blender0"  # history restarted
    ctl.on_key("p")
    assert level(loop) == pytest.approx(0.1) and loads == [("b", None)]  # "a" was the initial one: cached
    ctl.on_key("3")
    assert level(loop) == pytest.approx(0.9) and said[-1] == "style 3/3: c"
    ctl.on_key("c")  # "c" keeps colours by its own setting: the key turns that off
    assert ctl.preserve_color == 0.0 and loads[-1] == ("c", 0.0) and said[-1] == "colours: style"
    ctl.on_key("c")
    assert ctl.preserve_color == 1.0 and level(loop) == pytest.approx(0.95)
    ctl.on_key("n")  # a chosen style starts in its own colours
    assert ctl.current == "a" and ctl.preserve_color is None
    ctl.on_key("t")
    assert loop.temporal is None and said[-1] == "flicker reduction: off"
    ctl.on_key("n")
    assert loop.temporal is None  # off stays off across style changes
    ctl.on_key("t")
    assert loop.temporal is not None
    ctl.on_key("7")
    assert said[-1] == "no style 7: 3 styles" and ctl.current == "b"
    ctl.on_key("x")  # unknown keys do nothing
    ctl.on_key("h")
    assert said[-1].startswith("keys:")


def test_sweep_keeps_the_style() -> None:
    loop = SimpleNamespace(stylizer=fill(0.1), temporal=None)
    ctl, loads, said = make(loop, switchable=False, temporal_on=False)
    ctl.on_key("n")
    assert ctl.current == "a" and not loads and "sweep" in said[-1]


def test_style_cycle() -> None:
    E = lambda name, network="": SimpleNamespace(name=name, network=network)  # noqa: E731
    entries = [E("wave"), E("udnie"), E("multistyle:wave", "multistyle"), E("multistyle:udnie", "multistyle")]
    assert style_cycle("udnie", entries) == ["wave", "udnie"]
    assert style_cycle("multistyle:udnie", entries) == ["multistyle:wave", "multistyle:udnie"]
    assert style_cycle("/tmp/mine.safetensors", entries) == ["/tmp/mine.safetensors", "wave", "udnie"]


class FakeCV2:
    """The few cv2 calls WindowSink makes; waitKey returns the scripted key codes."""

    error = RuntimeError

    def __init__(self, keys: list[int]) -> None:
        self.keys = keys

    def imshow(self, *a) -> None:
        pass

    def cvtColor(self, frame, _code):  # noqa: N802 - cv2's name
        return frame

    def waitKey(self, _ms: int) -> int:  # noqa: N802
        return self.keys.pop(0) if self.keys else -1

    def getWindowProperty(self, *a) -> float:  # noqa: N802
        return 1.0

    def destroyWindow(self, *a) -> None:  # noqa: N802
        pass

    COLOR_RGB2BGR = 0
    WND_PROP_VISIBLE = 0


def test_window_sink_dispatches_keys_and_quits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":99")
    sink = WindowSink()
    sink._cv2 = FakeCV2([-1 & 0xFF, ord("n"), ord("c"), ord("q")])
    got: list[str] = []
    sink.on_key = got.append
    frame = np.zeros((4, 4, 3), np.uint8)
    assert sink.write(frame) and sink.write(frame) and sink.write(frame)
    assert not sink.write(frame)  # q quits
    assert got == ["n", "c"]


class KeySink(NullSink):
    """Presses keys after given output frames (like a performer at the preview window)."""

    def __init__(self, presses: dict[int, str]) -> None:
        super().__init__()
        self.presses, self.frames, self.on_key = presses, [], None

    def write(self, frame: np.ndarray) -> bool:
        self.frames.append(frame.copy())
        key = self.presses.get(len(self.frames))
        if key and self.on_key:
            self.on_key(key)
        return True


@pytest.mark.parametrize("overlap", [False, True])
def test_live_loop_follows_the_keys(overlap: bool) -> None:
    frames = np.zeros((12, 8, 8, 3), np.uint8)
    sink = KeySink({3: "n", 6: "2", 8: "p"})
    loop = LiveLoop(ArraySource(frames), sink, fill(0.1), config=LoopConfig(max_frames=12, overlap=overlap))
    ctl, _loads, _said = make(loop, initial=loop.stylizer, temporal_on=False)
    sink.on_key = ctl.on_key
    loop.run()
    means = [round(float(f.mean()) / 255, 1) for f in sink.frames]
    # frames 1-3 style a; key "n" after frame 3 -> b; "2" (b again) after 6; "p" after 8 -> a
    want = [0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1]
    if not overlap:
        assert means == want
    else:  # the frame after a key may already be in flight (submitted with the old style): one frame later at most
        assert len(means) == 12 and means[:3] == want[:3] and means[4:8] == want[4:8] and means[9:] == want[9:]
        assert means[3] in (0.1, 0.5) and means[8] in (0.1, 0.5)


def test_cli_wiring_loads_real_styles_on_keys() -> None:
    """`stylecast live` with a window: the controls it attaches load registry styles."""
    from models.nets.color import ColorPreserving
    from models.styles.registry import DEFAULT_STYLE, load_stylizer
    from models.temporal.blender import TemporalConfig
    from stream.cmd_live import _attach_controls

    first = load_stylizer(DEFAULT_STYLE)
    loop = SimpleNamespace(stylizer=first, temporal=None)
    sink = SimpleNamespace(on_key=None)
    said: list[str] = []
    _attach_controls(loop, sink, spec=DEFAULT_STYLE, stylizer=first, device="cpu", cfg=TemporalConfig(),
                     backend="auto", sweep=False, preserve_color=None, report=said.append)
    assert said[0].startswith("keys:")
    sink.on_key("n")
    assert loop.stylizer is not first and said[-1].startswith("style ")
    sink.on_key("c")
    assert isinstance(loop.stylizer, ColorPreserving)  # auto on a CPU: the module itself
    sink.on_key("t")
    assert loop.temporal is not None  # started without: the key turns it on
    # an explicit --backend reaches the styles the keys load (built lazily, on the first frame)
    from models.backends.accelerated import Accelerated

    _attach_controls(loop, sink, spec=DEFAULT_STYLE, stylizer=first, device="cpu", cfg=TemporalConfig(),
                     backend="compile", sweep=False, preserve_color=None, report=said.append)
    sink.on_key("n")
    assert isinstance(loop.stylizer, Accelerated) and loop.stylizer.kind == "compile"


def test_terminal_keys_from_a_pty_and_mode_restored() -> None:
    """vcam has no window: keys come from the terminal in cbreak mode, which is restored on close.
    A pipe (not a terminal) is refused without touching anything."""
    import os
    import termios
    import time

    from stream.terminal_keys import TerminalKeys

    master, slave = os.openpty()
    tty_in = os.fdopen(slave, "r")
    try:
        before = termios.tcgetattr(slave)
        keys = TerminalKeys(tty_in)
        assert keys.start()
        assert not termios.tcgetattr(slave)[3] & termios.ICANON  # cbreak: no line buffering
        os.write(master, b"nc")
        got: list[str] = []
        deadline = time.monotonic() + 10
        while len(got) < 2 and time.monotonic() < deadline:
            got += keys.drain()
            time.sleep(0.01)
        assert got == ["n", "c"]
        keys.close()
        assert termios.tcgetattr(slave) == before
    finally:
        tty_in.close()
        os.close(master)
    r, w = os.pipe()
    with os.fdopen(r, "r") as pipe_in:
        assert not TerminalKeys(pipe_in).start()
    os.close(w)


def test_live_vcam_takes_keys_from_the_terminal(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """`stylecast live --sink vcam` end to end with a stand-in pyvirtualcam and a pty as stdin:
    'n' typed in the terminal switches the style mid-stream, 'q' stops it, the terminal mode is back."""
    import os
    import re
    import sys
    import termios
    import types

    from models.cli import main

    sent: list[float] = []

    class Camera:
        def __init__(self, *, width: int, height: int, fps: float) -> None:
            pass

        def send(self, frame: np.ndarray) -> None:
            sent.append(float(frame.mean()))
            if len(sent) == 5:
                os.write(master, b"n")  # typed while frame 5 is shown
            if len(sent) == 40:
                os.write(master, b"q")

        def close(self) -> None:
            pass

    monkeypatch.setitem(sys.modules, "pyvirtualcam", types.SimpleNamespace(Camera=Camera))
    master, slave = os.openpty()
    tty_in = os.fdopen(slave, "r")
    monkeypatch.setattr(sys, "stdin", tty_in)
    before = termios.tcgetattr(slave)
    try:
        rc = main(["live", "--source", "sample", "--sink", "vcam", "--max-frames", "200", "--max-side", "64",
                   "--no-temporal"])
        after = termios.tcgetattr(slave)
    finally:
        tty_in.close()
        os.close(master)
    assert rc == 0 and after == before
    err = capsys.readouterr().err
    assert "keys:" in err and re.search(r"style \d+/\d+: the_scream", err)  # the one after starry_night
    assert 40 <= len(sent) < 200  # 'q' stopped it early
    early, late = np.mean(sent[:4]), np.mean(sent[-10:])
    assert abs(early - late) > 2  # another style's output after 'n'


def test_terminal_keys_leave_a_background_job_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """`stylecast live --sink vcam &`: another process group owns the terminal, so its mode is not
    touched (tcsetattr from the background would stop the job with SIGTTOU)."""
    import os
    import termios

    from stream import terminal_keys

    master, slave = os.openpty()
    tty_in = os.fdopen(slave, "r")
    try:
        before = termios.tcgetattr(slave)
        monkeypatch.setattr(terminal_keys.os, "tcgetpgrp", lambda fd: os.getpgrp() + 1)
        assert not terminal_keys.TerminalKeys(tty_in).start()
        assert termios.tcgetattr(slave) == before
    finally:
        tty_in.close()
        os.close(master)
