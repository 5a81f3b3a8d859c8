"""`--threads` and the CPU thread default of live/serve (models.cli.options.apply_cpu_threads)."""
from __future__ import annotations

import cv2
import pytest
import torch

from models.cli.options import apply_cpu_threads
from models.errors import UserError


@pytest.fixture(autouse=True)
def keep_threads():
    t, c = torch.get_num_threads(), cv2.getNumThreads()
    yield
    torch.set_num_threads(t)
    cv2.setNumThreads(c)


def test_two_cores_get_one_thread_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0, 1})
    note = apply_cpu_threads(None, torch.device("cpu"))
    assert note is not None and note.startswith("threads: 1 torch thread, 1 OpenCV thread (2 cores")
    assert torch.get_num_threads() == 1 and cv2.getNumThreads() == 1


def test_larger_machines_and_explicit_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(8)))
    before = torch.get_num_threads()
    assert apply_cpu_threads(None, torch.device("cpu")) is None and torch.get_num_threads() == before
    assert apply_cpu_threads(3, torch.device("cpu")) == "threads: 3 torch threads" and torch.get_num_threads() == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0})
    assert apply_cpu_threads(None, torch.device("cpu")) is None  # the user's OpenMP setting stands
    assert apply_cpu_threads(None, torch.device("cuda")) is None
    with pytest.raises(UserError, match=r"--threads: expected 1\.\.1024, got 0"):
        apply_cpu_threads(0, torch.device("cpu"))
    with pytest.raises(UserError, match=r"--threads: expected 1\.\.1024, got 2147483647"):
        apply_cpu_threads(2**31 - 1, torch.device("cpu"))
