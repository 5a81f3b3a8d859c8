"""Frame sinks of the live loop: on-screen window, video file, virtual camera, null.

A sink receives HxWx3 uint8 RGB frames in the loop's worker thread. It opens lazily on the
first frame (the output size is known only then). ``write`` returns False when the user asked
to stop (window closed, 'q'). ``close(ok=False)`` discards partial output (no half-written file).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from models.errors import UserError

SINK_HELP = "'window', 'null', 'vcam' or a video file path (.mp4, .mkv, .mov)"


class Sink(Protocol):
    name: str

    def write(self, frame: np.ndarray) -> bool: ...

    def close(self, ok: bool = True) -> None: ...


class NullSink:
    """Discards frames (benchmarks, headless smoke runs); keeps the last one for inspection."""

    name = "null"

    def __init__(self) -> None:
        self.frames = 0
        self.last: np.ndarray | None = None

    def write(self, frame: np.ndarray) -> bool:
        self.frames += 1
        self.last = frame
        return True

    def close(self, ok: bool = True) -> None:
        pass


class FileSink:
    """A video file through :class:`models.io.VideoWriter` (atomic: temp file renamed on success)."""

    def __init__(self, path: str | Path, *, fps: float, audio_from: str | Path | None = None, crf: int = 18) -> None:
        from models.io import VIDEO_SUFFIXES, check_output_path

        self.path = check_output_path(path, VIDEO_SUFFIXES)  # fail before any work starts
        self.name = str(self.path)
        self._fps, self._audio_from, self._crf = fps, audio_from, crf
        self._writer: Any = None

    def write(self, frame: np.ndarray) -> bool:
        if self._writer is None:
            from fractions import Fraction

            from models.io import VideoWriter

            self._writer = VideoWriter(self.path, width=frame.shape[1], height=frame.shape[0],
                                       fps=Fraction(self._fps).limit_denominator(1001), audio_from=self._audio_from,
                                       crf=self._crf)
        self._writer.write(frame)
        return True

    def close(self, ok: bool = True) -> None:
        w, self._writer = self._writer, None
        if w is None:
            return
        if ok:
            w.close()
        else:
            w.__exit__(RuntimeError, RuntimeError("live loop failed"), None)  # removes the temp file


def has_display() -> bool:
    """A GUI display is reachable (X11/Wayland on Linux; assumed on macOS/Windows)."""
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class WindowSink:
    """An OpenCV window; 'q' or Esc (or closing the window) stops the loop. Other keys go to
    ``on_key`` (set it to e.g. :meth:`stream.controls.LiveControls.on_key`), called on the
    thread that writes frames."""

    def __init__(self, title: str = "stylecast live") -> None:
        if not has_display():
            raise UserError("--sink window needs a display, but DISPLAY/WAYLAND_DISPLAY is not set "
                            "(use --sink null or a file path)")
        import cv2

        self.name, self._title, self._cv2, self._open = "window", title, cv2, False
        self.on_key: Callable[[str], None] | None = None

    def write(self, frame: np.ndarray) -> bool:
        cv2 = self._cv2
        try:
            cv2.imshow(self._title, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
            self._open = True
            key = cv2.waitKey(1) & 0xFF
            visible = cv2.getWindowProperty(self._title, cv2.WND_PROP_VISIBLE) >= 1
        except cv2.error as exc:  # headless OpenCV builds have no highgui
            raise UserError(f"cannot open a window: this OpenCV build has no GUI support ({str(exc).strip()[:80]}); "
                            f"install opencv-contrib-python (not -headless) or use another sink") from None
        if key in (ord("q"), 27):
            return False
        if key != 255 and self.on_key is not None:  # 255: no key pressed
            self.on_key(chr(key))
        return visible

    def close(self, ok: bool = True) -> None:
        if self._open:
            self._cv2.destroyWindow(self._title)
            self._cv2.waitKey(1)
            self._open = False


class VirtualCameraSink:
    """A virtual webcam via pyvirtualcam (optional extra ``stylecast[vcam]``), usable in video calls."""

    name = "vcam"

    def __init__(self, *, fps: float) -> None:
        try:
            import pyvirtualcam
        except ImportError:
            raise UserError("--sink vcam needs the optional package pyvirtualcam: "
                            "pip install 'stylecast[vcam]'") from None
        self._mod, self._fps, self._cam = pyvirtualcam, fps, None

    def write(self, frame: np.ndarray) -> bool:
        if self._cam is None:
            try:
                self._cam = self._mod.Camera(width=frame.shape[1], height=frame.shape[0], fps=self._fps)
            except RuntimeError as exc:
                raise UserError(f"no virtual camera backend available ({exc}); on Linux load v4l2loopback "
                                f"(sudo modprobe v4l2loopback), on Windows/macOS install OBS") from None
        self._cam.send(frame)
        return True

    def close(self, ok: bool = True) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            cam.close()


def open_sink(spec: str, *, fps: float, audio_from: str | Path | None = None) -> Sink:
    """Parse a ``--sink`` value."""
    s = spec.strip()
    if s == "null":
        return NullSink()
    if s == "window":
        return WindowSink()
    if s == "vcam":
        return VirtualCameraSink(fps=fps)
    if not Path(s).suffix:
        raise UserError(f"unknown sink {s!r}: expected {SINK_HELP}")
    return FileSink(s, fps=fps, audio_from=audio_from)
