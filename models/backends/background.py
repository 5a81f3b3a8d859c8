"""A style network served eager while its compiled backends are built in the background.

Why: a server cannot stop its streams for the seconds-to-minutes a torch.compile build takes
(:class:`models.backends.accelerated.Accelerated` builds on the calling thread, fine for one live
window, not for a server with peers). Here the first frame of a new (batch, size) bucket queues a
build on one background thread and is served by the eager module, as is every frame until the
build is done; from then on that bucket runs compiled. A failed build leaves the bucket eager.

Size buckets: compiled graphs are static-shape, and peers send every camera size there is. Each
side is rounded up to the next step of :data:`SIDES` (and the batch to a power of two), the frame
padded by reflection and the output cropped, so a handful of builds cover every peer (the
pad changes instance-norm statistics a little: the cost of sharing a build, bounded by the
~12 % step).

No CUDA graphs: graphs are recorded per thread and assert when another thread replays them
(pytorch/pytorch#123177); the build runs on the background thread, the frames on the worker's,
so the compile mode is ``max-autotune-no-cudagraphs`` on CUDA.

Precision (:func:`compile_dtype`): the GPU's default (fp16) on CUDA; on a CPU with native bf16
(AVX512-BF16 or AMX) bfloat16, channels_last, fp32-statistics norm; else fp32. Measured on the
2-core VM (AVX512-BF16, light net, 2 threads, docs/bench/render_scale.md §8a): 480x360 eager fp32
95 ms, compiled fp32 51 ms, compiled bf16 28-32 ms (parity 48 dB PSNR against fp32 eager).
Outputs are returned in the input's dtype.

Persistence: after each build the torch.compile caches (Inductor/Triton/autotuning "Mega-Cache",
``torch.compiler.save_cache_artifacts``) are written to ``<cache_dir>/compile-<key>.bin``, the key
hashing weights, module structure, bucket shape, dtype, GPU and versions like the TensorRT engine
cache (:mod:`models.backends.cache`); before a build the file is hot-loaded
(``load_cache_artifacts``). Inductor's own cache directory is also put under ``cache_dir``
(unless ``TORCHINDUCTOR_CACHE_DIR`` is set), so a restarted server rebuilds from disk.
"""
from __future__ import annotations

import atexit
import bisect
import logging
import os
import queue
import sys
import threading
import weakref
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.errors import one_line_reason
from models.io.atomic import write_bytes_atomic

log = logging.getLogger("stylecast.backends")

SIDES = (64, 96, 128, 160, 192, 224, 256, 288, 320, 368, 416, 480, 544, 608, 640, 720, 800, 896, 1024,
         1152, 1280, 1440, 1600, 1792, 1920, 2160)
Builder = Callable[..., Callable[[Tensor], Tensor]]  # build_backend-like: (model, **kw) -> backend
EXIT_WAIT_S = 180.0  # at interpreter exit, how long to wait for a build in progress


class _BuildThreads:
    """Every :class:`BackgroundCompiled`'s build thread, for one exit hook: a process that ends
    while a daemon thread is inside a torch.compile build aborts ("terminate called without an
    active exception", seen on ``stylecast live --max-frames 3`` with warm caches, 3 of 5 runs),
    so at exit the builds in progress are finished (their result is cached for the next start)."""

    def __init__(self) -> None:
        self._owners: "weakref.WeakSet[BackgroundCompiled]" = weakref.WeakSet()
        atexit.register(self.finish_all)

    def add(self, owner: "BackgroundCompiled") -> None:
        self._owners.add(owner)

    def finish_all(self, timeout: float = EXIT_WAIT_S) -> None:
        owners = list(self._owners)
        if any(o.building for o in owners):
            print("stylecast: finishing a background compile before exiting (it is cached for the next start)",
                  file=sys.stderr, flush=True)
        for o in owners:
            o.close(wait=timeout)


_BUILDS = _BuildThreads()


def bucket_side(n: int) -> int:
    """Smallest step of :data:`SIDES` >= n (multiples of 64 past the last step)."""
    i = bisect.bisect_left(SIDES, n)
    return SIDES[i] if i < len(SIDES) else -(-n // 64) * 64


def bucket(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(N, H, W) of the compiled graph serving a batch of ``shape`` (N,3,H,W)."""
    n, h, w = int(shape[0]), int(shape[-2]), int(shape[-1])
    return 1 << (n - 1).bit_length(), bucket_side(h), bucket_side(w)


def pad_to(x: Tensor, key: tuple[int, int, int]) -> Tensor:
    n, h, w = key
    if x.shape[-2:] != (h, w):
        ph, pw = h - x.shape[-2], w - x.shape[-1]
        # reflection (the networks pad that way too) keeps the frame's statistics in the margin;
        # it needs a margin smaller than the frame, replication covers the rest
        mode = "reflect" if ph < x.shape[-2] and pw < x.shape[-1] else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    if x.shape[0] != n:
        x = torch.cat([x, x[-1:].expand(n - x.shape[0], *x.shape[1:])])
    return x


class BackgroundCompiled:
    """``model`` (eager) until the compiled backend of a frame's bucket is ready (module doc).

    ``build(model, height=, width=, batch=)`` makes a backend (default: ``build_backend`` with
    ``kind="compile"``); injected by tests (a slow compiler) and the server. ``backend_of(shape)``
    says what serves a batch of that shape now: ``"compile[...]"``, ``"eager (compile building)"``,
    ``"eager (compile failed: ...)"``. Attributes not defined here are the model's.
    """

    def __init__(self, model: nn.Module, *, device: torch.device | str, build: Builder | None = None,
                 cache_dir: str | Path | None = None, report: Callable[[str], None] | None = None,
                 dtype: torch.dtype | None = None, exact: bool = False) -> None:
        self.model = model
        # exact: one build per exact frame shape, no padding (one stream of one size: `live`);
        # else size buckets (a server's peers of every camera size, module doc)
        self._exact = exact
        self.device = torch.device(device)
        self.dtype = dtype or compile_dtype(self.device)
        self._build = build or self._default_build
        self._cache_dir = Path(cache_dir) if cache_dir else None
        if self._cache_dir is not None and "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
            # Inductor's own on-disk caches (FX graphs, compiled C++/Triton kernels) next to ours,
            # not in /tmp: measured on the CPU (64x64 light net, loaded 2-core VM) a restart
            # builds in 21 s from it against 72-75 s from the Mega-Cache file alone, which does
            # not carry the compiled C++ kernels. Process-wide: read by Inductor at each compile.
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(self._cache_dir / "inductor")
        self._report = report or (lambda line: log.info("%s", line))
        self._ready: dict[tuple[int, int, int], Callable[[Tensor], Tensor]] = {}
        self._state: dict[tuple[int, int, int], str] = {}  # "building" / "failed: ..."
        self._lock = threading.Lock()
        self._closing = False
        self._jobs: queue.Queue[tuple[int, int, int] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._builder, name="stylecast-compile", daemon=True)
        self._thread.start()
        _BUILDS.add(self)

    def __getattr__(self, name: str) -> Any:
        if name == "model":
            raise AttributeError(name)
        return getattr(self.model, name)

    def _key(self, shape: tuple[int, ...]) -> tuple[int, int, int]:
        return (int(shape[0]), int(shape[-2]), int(shape[-1])) if self._exact else bucket(shape)

    def __call__(self, frames: Tensor) -> Tensor:
        key = self._key(tuple(frames.shape))
        fn = self._ready.get(key)
        if fn is None:
            with self._lock:
                if key not in self._state and key not in self._ready:
                    self._state[key] = "building"
                    self._jobs.put(key)
            return self.model(frames)
        n, h, w = frames.shape[0], frames.shape[-2], frames.shape[-1]
        if key == (n, h, w):
            return fn(frames).to(frames.dtype)
        return fn(pad_to(frames, key))[:n, :, :h, :w].to(frames.dtype)

    def backend_of(self, shape: tuple[int, ...]) -> str:
        key = self._key(shape)
        fn = self._ready.get(key)
        if fn is not None:
            return getattr(fn, "name", "compiled")
        state = self._state.get(key)
        return "eager" if state is None else f"eager (compile {state})"

    def describe(self) -> str:
        """One line: what serves each size bucket met so far."""
        with self._lock:
            keys = sorted(set(self._ready) | set(self._state))
        if not keys:
            return f"compile[{str(self.dtype).removeprefix('torch.')}] in the background: no frame yet"
        return "; ".join(f"{n}x3x{h}x{w}: {self.backend_of((n, 3, h, w))}" for n, h, w in keys)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued build has finished (tests, benchmarks)."""
        done = threading.Event()
        self._jobs.put(("barrier", done))  # type: ignore[arg-type]
        return done.wait(timeout)

    @property
    def building(self) -> bool:
        """Whether a build is queued or running."""
        with self._lock:
            return any(state == "building" for state in self._state.values())

    def close(self, wait: float | None = None) -> bool:
        """Stop the build thread after the build in progress (queued ones are skipped); ``wait``:
        seconds to wait for it (None: do not wait). True when the thread has ended."""
        self._closing = True
        self._jobs.put(None)
        if wait is not None and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(wait)
        return not self._thread.is_alive()

    # -- build thread ------------------------------------------------------------------------
    def _builder(self) -> None:
        while True:
            key = self._jobs.get()
            if key is None:
                return
            if key[0] == "barrier":
                key[1].set()  # type: ignore[index]
                continue
            if self._closing:  # closed: builds not started yet are dropped
                with self._lock:
                    self._state.pop(key, None)
                continue
            n, h, w = key
            self._report(f"compiling for {n}x3x{h}x{w} in the background (eager serves meanwhile)")
            try:
                fn = self._build(self.model, height=h, width=w, batch=n)
            except Exception as exc:  # noqa: BLE001 - any failure: that bucket stays eager
                why = one_line_reason(exc, with_type=True, limit=200)
                with self._lock:
                    self._state[key] = f"failed: {why}"
                self._report(f"compile for {n}x3x{h}x{w} failed ({why}); eager keeps serving it")
                continue
            with self._lock:
                self._ready[key] = fn
                self._state.pop(key, None)
            self._report(f"compiled backend ready for {n}x3x{h}x{w}: {getattr(fn, 'name', fn)}")

    def _default_build(self, model: nn.Module, *, height: int, width: int, batch: int) -> Callable[[Tensor], Tensor]:
        from models.backends import build_backend

        path = self._cache_file(model, batch, height, width)
        if path is not None and path.is_file():
            try:
                torch.compiler.load_cache_artifacts(path.read_bytes())
            except Exception as exc:  # noqa: BLE001 - a stale/corrupt cache only costs the build time
                log.warning("compile cache %s not loaded: %s", path, exc)
        cuda = self.device.type == "cuda"
        backend = build_backend(model, kind="compile", device=self.device, height=height, width=width, batch=batch,
                                dtype=self.dtype, compile_mode="max-autotune-no-cudagraphs" if cuda else "default",
                                cpu_compile=not cuda)
        if path is not None:
            save_compile_cache(path)
        return backend

    def _cache_file(self, model: nn.Module, n: int, h: int, w: int) -> Path | None:
        if self._cache_dir is None:
            return None
        return self._cache_dir / f"compile-{compile_cache_key(model, (n, 3, h, w), self.device, self.dtype)}.bin"


CPU_COMPILE_ENV = "STYLECAST_CPU_COMPILE"  # "0": ``auto`` stays eager on a CPU (live and serve)


def cpu_compile_enabled() -> bool:
    """Whether ``--backend auto`` compiles in the background on a CPU (default yes; needs a C++
    compiler, else the build fails once and eager keeps serving)."""
    return os.environ.get(CPU_COMPILE_ENV, "1").strip() != "0"


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX): there oneDNN's bf16
    convolutions are ~2x faster than fp32; elsewhere bf16 is emulated and slower."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    try:
        return any(bool(getattr(torch.cpu, name)()) for name in probes if hasattr(torch.cpu, name))
    except Exception:  # noqa: BLE001 - private probes: absent or failing means "no"
        return False


def compile_dtype(device: torch.device | str) -> torch.dtype:
    """The dtype a compiled build runs in on ``device`` (module doc, "Precision")."""
    from models.contracts import default_dtype

    dev = torch.device(device)
    if dev.type == "cpu":
        return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32
    return default_dtype(dev)


def compile_cache_key(model: nn.Module, shape: tuple[int, ...], device: torch.device,
                      dtype: torch.dtype | None = None) -> str:
    """Key of a compile cache file, built like the TensorRT engine key (models.backends.cache)."""
    from models.backends.cache import engine_key, software_versions
    from models.contracts import default_dtype

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    extra = {}
    try:
        import triton  # noqa: F401

        extra["triton"] = triton.__version__
    except ImportError:
        pass
    dt = dtype or default_dtype(device)
    builder = "torch.compile"
    if device.type == "cpu":  # the CPU build's own graph and wrapper (make_spec, compiled.CPU_OPTIONS)
        from models.backends import default_split_convs

        builder += "+cpp_wrapper" + ("+split_convs" if default_split_convs(device, dt) else "")
    return engine_key(model, input_shape=shape, dtype=dt, gpu_name=gpu,
                      versions=software_versions(extra), builder=builder).digest()


def save_compile_cache(path: Path) -> bool:
    """Write torch.compile's cache artifacts of this process to ``path`` (atomically)."""
    try:
        got = torch.compiler.save_cache_artifacts()
    except Exception as exc:  # noqa: BLE001
        log.warning("compile cache not saved: %s", exc)
        return False
    if not got:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, got[0])
    return True
