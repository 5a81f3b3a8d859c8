"""Ray executor for :func:`offline.batch.runner.run_batch`: a pool of :class:`Worker` actors
(each holds its networks loaded, ``num_gpus`` GPUs each), restarted by Ray when their process
dies and their in-flight chunk retried (``max_restarts`` / ``max_task_retries``); the retried
chunk resumes from its last finished frame because every frame is on disk (shared filesystem).
"""
from __future__ import annotations

from models.errors import one_line_reason

from offline.batch.runner import Task
from offline.batch.work import Worker


class _Counter:
    """A tiny actor the workers report finished frames to; the driver takes the count."""

    def __init__(self) -> None:
        self.n = 0

    def add(self, k: int) -> None:
        self.n += k

    def take(self) -> int:
        n, self.n = self.n, 0
        return n


class _Report:
    """Picklable progress callback (sent with each chunk) that forwards counts to the counter
    actor at most twice a second (a round trip per frame cost 30 % of a small-frame batch);
    :meth:`flush` sends the rest when the chunk ends."""

    def __init__(self, counter) -> None:
        self.counter = counter
        self.pending = 0
        self.last = 0.0

    def __call__(self, k: int) -> None:
        import time

        self.pending += k
        if time.monotonic() - self.last > 0.5:
            self.flush()

    def flush(self) -> None:
        import time

        import ray

        if self.pending:
            ray.get(self.counter.add.remote(self.pending))  # waited for: counted before the chunk returns
            self.pending = 0
        self.last = time.monotonic()


def connect(address: str, *, num_gpus: float | None = None) -> bool:
    """Start or join Ray; returns whether we started it (and so must shut it down).
    ``local``: a new single-machine Ray; ``auto``: the running cluster (``ray start --head``,
    or RAY_ADDRESS); anything else: a cluster address (``HOST:6379`` or ``ray://HOST:10001``)."""
    import ray

    from models.errors import UserError

    if ray.is_initialized():  # an embedding program (or a test) already connected
        return False
    try:
        if address == "auto":  # Ray's default: RAY_ADDRESS or a cluster started here, else a new one
            ray.init(include_dashboard=False)
        elif address == "local":
            ray.init(address="local", num_gpus=num_gpus, include_dashboard=False)
        else:
            ray.init(address=address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"--ray {address}: cannot connect to a Ray cluster ({exc})") from None
    return True


class RayExecutor:
    def __init__(self, *, workers: int, device: str, gpus_per_worker: float, cpus_per_worker: float = 1,
                 retries: int = 3) -> None:
        import ray

        self.ray = ray
        self.device = device
        # TQDM_DISABLE: the driver shows one bar over everything, the jobs' own bars would only
        # flood its log (tqdm reads it at import, so it must be in the worker's environment).
        self.options = dict(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker,
                            max_restarts=retries, max_task_retries=retries,
                            runtime_env={"env_vars": {"TQDM_DISABLE": "1"}})
        self.actor_cls = ray.remote(**self.options)(Worker)
        self.counter = ray.remote(num_cpus=0)(_Counter).remote()
        self.threads = max(1, int(cpus_per_worker))
        self.idle = [self._new_actor() for _ in range(workers)]
        self.slots = workers
        self.running: dict = {}  # ObjectRef -> (task, actor)

    def _new_actor(self):
        return self.actor_cls.remote(self.device, self.threads)

    def submit(self, task: Task, step_args: tuple, step_kwargs: dict) -> None:
        actor = self.idle.pop()
        if task.step == "run_chunk":
            step_kwargs = {**step_kwargs, "progress": _Report(self.counter)}
        ref = actor.call.remote(task.step, *step_args, **step_kwargs)
        self.running[ref] = (task, actor)

    def wait(self) -> list[tuple[Task, dict]]:
        ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=0.5)
        out = []
        for ref in ready:
            task, actor = self.running.pop(ref)
            try:
                out.append((task, self.ray.get(ref)))
                self.idle.append(actor)
            except self.ray.exceptions.RayError as exc:  # the worker died more often than retries allow
                first = one_line_reason(exc)
                out.append((task, {"ok": False, "error": f"worker failed {self.options['max_task_retries'] + 1} "
                                                       f"times on {task.step} {task.chunk}: {first}"}))
                self.ray.kill(actor)
                self.idle.append(self._new_actor())
        return out

    def progress(self) -> int:
        return self.ray.get(self.counter.take.remote())

    def close(self) -> None:
        for _ref, (_t, actor) in list(self.running.items()):
            self.ray.kill(actor, no_restart=True)
        for actor in self.idle:
            self.ray.kill(actor, no_restart=True)
        self.ray.kill(self.counter)
        self.running.clear()
        self.idle.clear()
