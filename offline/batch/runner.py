"""The batch driver: one scheduler over prepare -> chunks -> finish for every recording, run by
an executor that is either this process (:class:`LocalExecutor`) or a pool of Ray actors
(:mod:`offline.batch.ray_exec`). One progress bar counts frame results of all recordings."""
from __future__ import annotations

import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from tqdm import tqdm

from offline.batch.plan import SplitConfig


@dataclass(frozen=True)
class Task:
    step: str  # prepare | run_chunk | finish
    rec: int
    chunk: int = -1


class Executor(Protocol):
    slots: int

    def submit(self, task: Task, step_args: tuple, step_kwargs: dict) -> None: ...
    def wait(self) -> list[tuple[Task, dict]]: ...  # finished tasks (may be empty: poll again)
    def progress(self) -> int: ...  # frame results reported since the last call
    def close(self) -> None: ...


@dataclass
class RecState:
    spec: Any
    plan: Any = None
    chunks_left: int = 0
    status: str = "waiting"  # waiting | running | ok | skipped | failed
    detail: str = ""
    started: float = field(default_factory=time.monotonic)


class _NoBars:
    """stderr without the jobs' own progress bars (carriage-return redraws): one bar for the batch."""

    def __init__(self, real) -> None:
        self.real = real

    def write(self, text: str) -> int:
        if "\r" not in text and "\x1b[" not in text and text.strip():
            self.real.write(text if text.endswith("\n") else text + "\n")
        return len(text)

    def flush(self) -> None:
        self.real.flush()

    def __getattr__(self, name: str):
        # Everything else (fileno, encoding, isatty...) is the real stream's: code that probes
        # stderr must see the same answers as without the filter (the encoded bytes depended on it).
        return getattr(self.real, name)


class LocalExecutor:
    """Runs each task when asked for results, in this process, with one :class:`Worker`."""
    slots = 1

    def __init__(self, device: str) -> None:
        from offline.batch.work import Worker

        self.worker = Worker(device)
        self.queue: deque = deque()
        self._done = 0

    def submit(self, task: Task, step_args: tuple, step_kwargs: dict) -> None:
        self.queue.append((task, step_args, step_kwargs))

    def _report(self, n: int) -> None:
        self._done += n
        if self.on_progress is not None:
            self.on_progress()

    on_progress = None

    def wait(self) -> list[tuple[Task, dict]]:
        import contextlib

        task, a, kw = self.queue.popleft()
        if task.step == "run_chunk":
            kw = {**kw, "progress": self._report}
        with contextlib.redirect_stderr(_NoBars(sys.stderr)):
            return [(task, self.worker.call(task.step, *a, **kw))]

    def progress(self) -> int:
        n, self._done = self._done, 0
        return n

    def close(self) -> None:
        pass


def run_batch(specs: list, executor: Executor, split: SplitConfig, *, restart: bool = False,
              keep_job: bool = False, fault: str | None = None) -> list[RecState]:
    """Run every recording to the end (or to its error); returns their final states."""
    recs = [RecState(spec=s) for s in specs]
    todo: deque[Task] = deque(Task("prepare", i) for i in range(len(recs)))
    running = 0
    # Unit: one frame result of one stage (fast: 4 per frame, ruder: 1, multipass: one per pass).
    bar = tqdm(total=0, desc=f"batch ({len(recs)} recordings)", unit="step", dynamic_ncols=True,
               disable=False, smoothing=0.05)
    if isinstance(executor, LocalExecutor):
        executor.on_progress = lambda: bar.update(executor.progress())
    try:
        while todo or running:
            while todo and running < executor.slots:
                t = todo.popleft()
                r = recs[t.rec]
                if t.step == "prepare":
                    executor.submit(t, (r.spec, split), {"restart": restart})
                elif t.step == "run_chunk":
                    executor.submit(t, (r.spec, r.plan, t.chunk), {"keep_job": keep_job, "fault": fault})
                else:
                    executor.submit(t, (r.spec, r.plan), {"keep_job": keep_job})
                running += 1
            finished = executor.wait()
            bar.update(executor.progress())
            for t, res in finished:
                running -= 1
                r = recs[t.rec]
                if r.status == "failed":
                    continue
                if not res.get("ok"):
                    r.status, r.detail = "failed", res.get("error", "unknown error")
                    bar.write(f"stylecast batch: {r.spec.input}: {r.detail}", file=sys.stderr)
                elif t.step == "prepare" and res.get("skipped"):
                    r.status, r.detail = "skipped", res["skipped"]
                elif t.step == "prepare":
                    r.plan, r.status = res["plan"], "running"
                    r.chunks_left = len(r.plan.chunks)
                    bar.total += r.plan.total_steps
                    bar.update(r.plan.done_steps)
                    # Chunks go to the front, in order: recordings finish one after another.
                    todo.extendleft(Task("run_chunk", t.rec, c.index) for c in reversed(r.plan.chunks))
                elif t.step == "run_chunk":
                    r.chunks_left -= 1
                    if r.chunks_left == 0:
                        if len(r.plan.chunks) == 1:
                            r.status, r.detail = "ok", res["output"]
                        else:
                            todo.appendleft(Task("finish", t.rec))
                else:
                    r.status, r.detail = "ok", res["output"]
    finally:
        bar.close()
        executor.close()
    return recs


def summary(recs: list[RecState]) -> str:
    lines = []
    for r in recs:
        extra = ""
        if r.plan is not None and r.status in ("ok", "failed"):
            shots = len(r.plan.cuts) + 1
            extra = f" ({r.plan.n_frames} frames, {shots} shot{'s' * (shots > 1)}, {len(r.plan.chunks)} chunk{'s' * (len(r.plan.chunks) > 1)})"
        what = r.detail if r.status != "ok" else f"wrote {r.detail}"
        lines.append(f"  {r.status.upper():8s}{r.spec.input}: {what}{extra}")
    n = {s: sum(r.status == s for r in recs) for s in ("ok", "skipped", "failed")}
    head = f"stylecast batch: {n['ok']} done, {n['skipped']} skipped, {n['failed']} failed of {len(recs)}"
    return "\n".join([head, *lines])
