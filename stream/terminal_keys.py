"""Single key presses from the terminal, for `stylecast live` sinks without a window (``vcam``).

The same keys as the preview window (:mod:`stream.controls`). The terminal is put in cbreak mode
(keys arrive without Enter, Ctrl-C still interrupts) and restored on :meth:`close`; a daemon
thread blocks in ``read`` and queues each key, and the loop's model thread takes them between
frames with :meth:`drain`, so controls never run concurrently with a frame. POSIX only (termios);
elsewhere, when stdin is not a terminal (a pipe, a service) or the command runs in the background,
:meth:`start` returns False.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
from typing import Any, TextIO


def _background(fd: int) -> bool:
    """True when ``fd`` is our controlling terminal and another process group is in its foreground."""
    try:
        return os.tcgetpgrp(fd) != os.getpgrp()
    except OSError:  # not our controlling terminal: its mode is not guarded by SIGTTOU
        return False


class TerminalKeys:
    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdin
        self._q: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._saved: Any = None
        self._fd = -1
        self._closed = threading.Event()

    def start(self) -> bool:
        """Begin reading keys; False (and nothing changed) when there is no terminal to read."""
        try:
            import termios
            import tty
        except ImportError:
            return False
        try:
            if not self._stream.isatty():
                return False
            self._fd = self._stream.fileno()
            if _background(self._fd):
                return False  # `stylecast live ... &`: changing the mode would stop the job (SIGTTOU)
            self._saved = termios.tcgetattr(self._fd)
            tty.setcbreak(self._fd)  # no line buffering, no echo; signals (Ctrl-C) still work
        except (OSError, ValueError, termios.error):
            return False
        threading.Thread(target=self._read, name="stylecast-keys", daemon=True).start()
        return True

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                data = os.read(self._fd, 1)
            except OSError:
                return
            if not data:
                return
            self._q.put(data.decode(errors="ignore"))

    def drain(self) -> list[str]:
        """Keys pressed since the last call (oldest first)."""
        out = []
        while True:
            try:
                out.append(self._q.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        """Restore the terminal's mode (idempotent)."""
        self._closed.set()
        if self._saved is not None:
            import termios

            try:
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._saved)
            except (OSError, termios.error):
                pass
            self._saved = None
