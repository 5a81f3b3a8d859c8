"""What a batch worker does: prepare a recording (decode, find cuts, plan chunks), stylize one
chunk, put a recording's chunks back together. The same :class:`Worker` runs in the batch's own
process (no Ray) or as a Ray actor, which keeps its networks loaded between chunks.

Every step reads and writes the recording's job directory (:mod:`offline.ruder.job`), so a
worker killed mid-chunk is simply run again: finished frames are on disk and skipped, and the
frames after them see exactly the bytes an uninterrupted run would have seen.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2

from models.errors import UserError
from offline.batch.plan import Chunk, SplitConfig, plan_chunks, seam_weight

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Plan:
    input: str
    output: str
    job_dir: str
    n_frames: int
    cuts: tuple[int, ...]
    chunks: tuple[Chunk, ...]
    steps_per_frame: int  # stage results per frame (fast 4, ruder 1, multipass: passes)
    done_steps: int  # already on disk (a resumed batch)

    @property
    def total_steps(self) -> int:
        return self.steps_per_frame * sum(len(c) for c in self.chunks)


def steps_per_frame(spec) -> int:
    return {"fast": 4, "ruder": 1}.get(spec.method, spec.multipass.passes)


def final_stage(spec) -> str:
    from offline.ruder.methods import pass_stage

    return {"fast": "fast", "ruder": "ruder"}.get(spec.method) or pass_stage(spec.multipass.passes)


def detect_cuts(job, threshold: float) -> list[int]:
    """First frames of new shots: grey-histogram distance to the previous frame above
    ``threshold`` (the live blend's detector, models.temporal.scenecut), on the decoded job frames."""
    from models.temporal.scenecut import gray_histogram, is_scene_cut

    cuts, prev = [], None
    for i in range(job.n_frames):
        gray = cv2.imread(str(job.frame_path(i)), cv2.IMREAD_GRAYSCALE)
        if gray is None:
            raise UserError(f"{job.frame_path(i)}: expected a readable image, got an unreadable/corrupt file")
        hist = gray_histogram(gray)
        if prev is not None and is_scene_cut(prev, hist, threshold):
            cuts.append(i)
        prev = hist
    return cuts


def chunk_dir(plan: Plan, c: Chunk) -> Path:
    return Path(plan.job_dir) / "chunks" / f"{c.index:04d}_{c.start:06d}-{c.stop:06d}"


def _count_results(root: Path) -> int:
    out = root / "out"
    return sum(1 for d in out.iterdir() if d.is_dir() for f in os.scandir(d) if f.name.endswith(".png")) \
        if out.is_dir() else 0


class Worker:
    """One worker: ``device`` is resolved where the worker runs ("auto": its GPU if it has one)."""

    def __init__(self, device: str = "auto", threads: int | None = None) -> None:
        import torch

        from models.devices import pick_device

        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(pick_device(device))
        if self.device.type == "cuda":
            # Resumed frames must equal uninterrupted ones: no autotuned / nondeterministic kernels.
            torch.backends.cudnn.benchmark = False
            torch.backends.cudnn.deterministic = True
        self._nets: dict[tuple, object] = {}

    # --- the three steps; each returns a dict, errors included, so one bad job never stops the batch
    def call(self, step: str, *args, **kwargs) -> dict:
        if args and hasattr(args[0], "method"):  # the VideoSpec: run on this worker's device
            args = (dataclasses.replace(args[0], device=str(self.device)), *args[1:])
        try:
            return {"ok": True, **getattr(self, step)(*args, **kwargs)}
        except UserError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # noqa: BLE001 - any failure is this recording's, never the batch's
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def prepare(self, spec, split: SplitConfig, *, restart: bool = False) -> dict:
        from offline.ruder.job import Job
        from offline.ruder.source import check_input, check_output, decode_into

        out = Path(spec.output)
        job_dir = Path(spec.job_dir)
        if restart:
            shutil.rmtree(job_dir, ignore_errors=True)
            out.unlink(missing_ok=True)
        if out.exists():
            return {"skipped": f"{out} exists (--restart to redo it)"}
        check_input(spec.input)
        check_output(spec.output)
        job = Job(job_dir, spec.settings())
        decode_into(job, spec.input, max_side=spec.max_side, max_frames=spec.max_frames)
        cuts: list[int] = []
        if split.cut_threshold is not None:
            key = f"cuts@{split.cut_threshold}"
            if key not in job.meta:
                job.set_meta(**{key: detect_cuts(job, split.cut_threshold)})
            cuts = list(job.meta[key])
        chunks = plan_chunks(job.n_frames, cuts, split)
        plan = Plan(input=spec.input, output=spec.output, job_dir=str(job_dir), n_frames=job.n_frames,
                    cuts=tuple(cuts), chunks=chunks, steps_per_frame=steps_per_frame(spec), done_steps=0)
        roots = [job_dir] if len(chunks) == 1 else [chunk_dir(plan, c) for c in chunks]
        done = sum(_count_results(r) for r in roots)
        return {"plan": dataclasses.replace(plan, done_steps=min(done, plan.total_steps))}

    def run_chunk(self, spec, plan: Plan, index: int, *, progress: Progress | None = None,
                  keep_job: bool = False, fault: str | None = None) -> dict:
        try:
            return self._run_chunk(spec, plan, index, progress=progress, keep_job=keep_job, fault=fault)
        finally:
            getattr(progress, "flush", lambda: None)()

    def _run_chunk(self, spec, plan: Plan, index: int, *, progress: Progress | None,
                   keep_job: bool, fault: str | None) -> dict:
        from offline.ruder.pipeline import run_video, stylize_job

        hook = self._hook(progress, index, fault)
        if len(plan.chunks) == 1:  # the whole recording: exactly `stylecast video`
            out = run_video(spec, stylizer=self._stylizer(spec), optimizer=self._optimizer(spec, plan),
                            on_frame=hook)
            if not keep_job:
                shutil.rmtree(plan.job_dir, ignore_errors=True)
            return {"output": str(out)}
        job = self._chunk_job(spec, plan, plan.chunks[index])
        stage = stylize_job(spec, job, self.device, stylizer=self._stylizer(spec),
                            optimizer=self._optimizer(spec, plan), on_frame=hook)
        job.set_meta(done_stage=stage)
        return {}

    def finish(self, spec, plan: Plan, *, keep_job: bool = False) -> dict:
        """Chunks -> the recording's frames (shared frames cross-faded) -> the output file."""
        from offline.ruder.job import Job, tensor_to_u8, u8_to_tensor, read_png, write_png
        from offline.ruder.source import write_output
        from models.io.atomic import write_bytes_atomic

        if len(plan.chunks) == 1:
            return {"output": plan.output}
        rec = Job(plan.job_dir, spec.settings())
        stage = final_stage(spec)
        chunks = plan.chunks
        for k, c in enumerate(chunks):
            nxt = chunks[k + 1] if k + 1 < len(chunks) and chunks[k + 1].lead else None
            src = chunk_dir(plan, c) / "out" / stage
            for t in range(c.lead, len(c)):
                f = c.start + t
                dst = rec.result_path("batch", f)
                if dst.exists():
                    continue
                if nxt is not None and f >= nxt.start:
                    a = u8_to_tensor(read_png(src / f"{t:06d}.png"))
                    b = u8_to_tensor(read_png(chunk_dir(plan, nxt) / "out" / stage / f"{f - nxt.start:06d}.png"))
                    w = seam_weight(f - nxt.start, nxt.lead)
                    write_png(dst, tensor_to_u8(a * (1.0 - w) + b * w))
                else:
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    write_bytes_atomic(dst, (src / f"{t:06d}.png").read_bytes())
        audio = spec.input if Path(spec.input).is_file() else None
        out = write_output(rec, "batch", plan.output, audio_from=audio)
        if not keep_job:
            shutil.rmtree(plan.job_dir, ignore_errors=True)
        return {"output": str(out)}

    # --- helpers -----------------------------------------------------------------------------
    def _chunk_job(self, spec, plan: Plan, c: Chunk):
        from offline.ruder.job import Job

        rec = Job(plan.job_dir, spec.settings())
        job = Job(chunk_dir(plan, c), {**spec.settings(), "chunk": [c.start, c.stop]})
        if "n_frames" not in job.meta:
            for t in range(len(c)):
                dst = job.frame_path(t)
                if dst.exists():
                    continue
                dst.parent.mkdir(parents=True, exist_ok=True)
                try:  # a hard link costs no disk; copy where links are not possible
                    os.link(rec.frame_path(c.start + t), dst)
                except OSError:
                    shutil.copyfile(rec.frame_path(c.start + t), dst)
            job.set_meta(n_frames=len(c), height=rec.meta["height"], width=rec.meta["width"],
                         fps=rec.meta["fps"], time_base=rec.meta.get("time_base"), pts=[], has_audio=False)
        return job

    def _stylizer(self, spec):
        if spec.method != "fast":
            return None
        from offline.ruder.pipeline import load_fast_stylizer

        key = ("fast", spec.style, spec.preserve_color)
        if key not in self._nets:
            self._nets[key] = load_fast_stylizer(spec.style, self.device, spec.preserve_color)
        return self._nets[key]

    def _optimizer(self, spec, plan: Plan):
        if spec.method == "fast":
            return None
        from offline.ruder.job import Job
        from offline.ruder.pipeline import build_optimizer

        cfg = spec.ruder if spec.method == "ruder" else spec.multipass
        job = Job(plan.job_dir, spec.settings())
        key = (spec.method, spec.style_image, repr(cfg.optim), job.meta["height"], job.meta["width"])
        if key not in self._nets:
            self._nets.clear()  # one loss network in memory at a time
            self._nets[key] = build_optimizer(spec, job, self.device)
        return self._nets[key]

    @staticmethod
    def _hook(progress: Progress | None, index: int, fault: str | None):
        """on_frame: report progress; ``fault`` ("MARKER:CHUNK:FRAMES", tests only) kills this
        process after FRAMES frames of chunk CHUNK, once (MARKER records that it happened)."""
        count = [0]
        marker, f_chunk, f_frames = (fault.rsplit(":", 2) if fault else (None, "-1", "0"))

        def hook(stage: str, i: int) -> None:
            count[0] += 1
            if progress is not None:
                progress(1)
            if marker and int(f_chunk) == index and count[0] >= int(f_frames) and not Path(marker).exists():
                Path(marker).write_text(f"killed chunk {index} after {count[0]} frames\n")
                print(f"stylecast batch: fault injected: worker exits in chunk {index}", file=sys.stderr, flush=True)
                os._exit(17)
        return hook
