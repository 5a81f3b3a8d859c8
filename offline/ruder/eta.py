"""How long will ``stylecast video`` take? Printed once the first frame is done (its time says
what this machine does), and before starting when an earlier run of the same job left a
measured rate in job.json. Names the faster choice when one exists: with the default ``ruder``
method on a CPU, the first frame alone takes many minutes, and users should know before they wait.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

FASTER = {
    "ruder": "faster: --method multipass --preset fast (fewer iterations), or --method fast "
             "(a trained network, seconds for a whole clip)",
    "multipass": "faster: --method fast (a trained network, seconds for a whole clip)",
}


def human(seconds: float) -> str:
    s = int(round(seconds))
    if s < 90:
        return f"{s} s"
    if s < 90 * 60:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def step_costs(spec, n: int) -> list[float]:
    """Relative cost of every frame result of the job, in the order they are made (a ruder first
    frame runs ``first_iterations``, the others ``iterations``)."""
    if spec.method == "ruder":
        o = spec.ruder.optim
        first = (o.first_iterations or o.iterations) / o.iterations
        return [first] + [1.0] * (n - 1)
    if spec.method == "multipass":
        return [1.0] * (n * spec.multipass.passes)
    return [1.0] * (n * 4)


class Eta:
    """An ``on_frame`` hook for :func:`offline.ruder.pipeline.run_video` (chains ``inner``)."""

    def __init__(self, spec, job_dir: Path, inner=None, out=None) -> None:
        self.spec, self.job_dir, self.inner, self.out = spec, Path(job_dir), inner, out
        self.t0 = time.monotonic()
        self.done = 0
        self.said = False
        self.before_start()

    def _meta(self) -> dict:
        try:
            return json.loads((self.job_dir / "job.json").read_text())
        except (OSError, ValueError):
            return {}

    def _done_steps(self) -> int:
        out = self.job_dir / "out"
        return sum(1 for d in out.iterdir() if d.is_dir() for _ in d.glob("*.png")) if out.is_dir() else 0

    def before_start(self) -> None:
        meta = self._meta()
        rate, n = meta.get("seconds_per_step"), meta.get("n_frames")
        self.start_steps = self._done_steps()
        if rate and n:
            left = sum(step_costs(self.spec, int(n))[self.start_steps:])
            if left > 0:
                print(f"stylecast video: about {human(left * float(rate))} left at the last run's pace "
                      f"({float(rate):.3g} s per frame step)", file=self.out or sys.stderr, flush=True)
                self.said = True

    def __call__(self, stage: str, i: int) -> None:
        self.done += 1
        if self.done == 1:
            meta = self._meta()
            n = int(meta.get("n_frames", 0))
            took = time.monotonic() - self.t0  # includes decode, flow and network load: errs long
            costs = step_costs(self.spec, n)[self.start_steps:]
            unit = took / (costs[0] if costs else 1.0)
            left = unit * sum(costs[1:])
            if not self.said:
                hint = FASTER.get(self.spec.method)
                print(f"stylecast video: first frame took {human(took)}; about {human(left)} left "
                      f"({n} frames, method {self.spec.method})"
                      f"{'; ' + hint if hint and left > 120 else ''}", file=self.out or sys.stderr, flush=True)
            self._save(unit)
        if self.inner is not None:
            self.inner(stage, i)

    def _save(self, unit: float) -> None:
        from offline.ruder.job import _atomic_bytes

        meta = self._meta()
        if meta:
            meta["seconds_per_step"] = round(unit, 4)
            _atomic_bytes(self.job_dir / "job.json", json.dumps(meta, indent=1, default=str).encode())
