"""``stylecast batch INPUT... -o OUTDIR``: stylize many recordings (files or folders) as
resumable video jobs, in this process or on a Ray cluster (``--ray``); long recordings are split
at scene cuts and into overlapping chunks so that every worker has work (see docs/offline.md)."""
from __future__ import annotations

import argparse
import os
import sys


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from offline.cmd_video import add_method_options

    p = sub.add_parser(
        "batch", help="stylize many recordings (or one long one) in parallel, optionally on a Ray cluster",
        description="Stylize every recording given (video files, folders of videos, folders of frames) into "
                    "OUTDIR/NAME.mp4. Each recording is a resumable job (OUTDIR/NAME.mp4.job); a failed "
                    "recording does not stop the others; rerunning the same command resumes.")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video file, folder of videos, or folder of frames")
    p.add_argument("-o", "--output-dir", required=True, metavar="OUTDIR", help="folder for the outputs (created)")
    p.add_argument("--container", choices=("mp4", "mkv", "mov"), default="mp4", help="output container (default mp4)")
    add_method_options(p)
    r = p.add_argument_group("parallelism")
    r.add_argument("--ray", metavar="auto|local|ADDRESS",
                   help="run on Ray: auto (a running cluster, else a new local one), local (a new local Ray), or a "
                        "cluster address (HOST:6379, ray://HOST:10001); without it, one process")
    r.add_argument("--workers", type=int, metavar="N", help="Ray actors (default: one per GPU, or per CPU without GPUs)")
    r.add_argument("--gpus-per-worker", type=float, metavar="G", help="GPUs per actor (default 1 on a cluster with GPUs, else 0)")
    r.add_argument("--retries", type=int, default=3, help="restarts of a dead worker / retries of its chunk (default 3)")
    s = p.add_argument_group("splitting")
    s.add_argument("--chunk-frames", type=int, default=300, metavar="N", help="longest chunk of a shot (default 300)")
    s.add_argument("--overlap", type=int, default=8, metavar="K", help="frames shared and cross-faded by neighbouring chunks (default 8)")
    s.add_argument("--cut-threshold", type=float, default=0.4, metavar="T",
                   help="scene-cut histogram distance in (0,1] (default 0.4, as the live blend)")
    s.add_argument("--no-cut-split", action="store_true", help="do not split at scene cuts")
    p.add_argument("--restart", action="store_true", help="discard existing jobs and outputs and start over")
    p.add_argument("--keep-job", action="store_true", help="keep each finished job's work folder (deleted otherwise)")
    p.set_defaults(func=run)


def build_specs(args: argparse.Namespace) -> list:
    import dataclasses
    from pathlib import Path

    from models.errors import UserError
    from offline.batch.plan import expand_inputs, output_names
    from offline.cmd_video import spec_from_args

    outdir = Path(args.output_dir)
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"-o {outdir}: expected a folder, got a file")
    inputs = expand_inputs(args.inputs)
    names = output_names(inputs, args.container)
    # The device is chosen by each worker where it runs (the driver may have no GPU).
    base = spec_from_args(argparse.Namespace(**{**vars(args), "input": "", "output": "", "job_dir": None,
                                                "restart": False, "device": "cpu"}))
    outdir.mkdir(parents=True, exist_ok=True)
    return [dataclasses.replace(base, input=str(i), output=str(outdir / n), job_dir=str(outdir / f"{n}.job"))
            for i, n in zip(inputs, names)]


def run(args: argparse.Namespace) -> int:
    from models.errors import UserError
    from offline.batch.plan import SplitConfig
    from offline.batch.runner import LocalExecutor, run_batch, summary

    split = SplitConfig(chunk_frames=args.chunk_frames, overlap=args.overlap,
                        cut_threshold=None if args.no_cut_split else args.cut_threshold)
    if args.ray is None and (args.workers not in (None, 1) or args.gpus_per_worker):
        raise UserError("--workers/--gpus-per-worker: expected --ray auto|local|ADDRESS (without it the batch runs in this process)")
    specs = build_specs(args)
    fault = os.environ.get("STYLECAST_BATCH_FAULT")  # tests: "MARKER:CHUNK:FRAMES", see offline.batch.work
    own_ray = False
    if args.ray is None:
        executor = LocalExecutor(args.device)
    else:
        try:
            import ray
        except ImportError:
            raise UserError("--ray: Ray is not installed; pip install 'stylecast[cluster]'") from None
        from offline.batch.ray_exec import RayExecutor, connect

        own_ray = connect(args.ray)
        res = ray.cluster_resources()
        gpus = args.gpus_per_worker
        if gpus is None:
            gpus = 1.0 if res.get("GPU", 0) >= 1 and args.device != "cpu" else 0.0
        if args.device == "cuda" and gpus <= 0:
            raise UserError("--device cuda: expected GPUs on the Ray cluster (--gpus-per-worker), found none")
        workers = args.workers or max(1, int(res.get("GPU", 0) // gpus) if gpus else int(res.get("CPU", 1)))
        print(f"stylecast batch: Ray cluster {int(res.get('CPU', 0))} CPUs, {res.get('GPU', 0):g} GPUs; "
              f"{workers} worker(s) x {gpus:g} GPU", file=sys.stderr)
        executor = RayExecutor(workers=workers, device=args.device, gpus_per_worker=gpus, retries=args.retries)
    try:
        recs = run_batch(specs, executor, split, restart=args.restart, keep_job=args.keep_job, fault=fault)
    except KeyboardInterrupt:
        print("\nstylecast batch: interrupted; finished frames are kept - run the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        if own_ray:
            ray.shutdown()
    print(summary(recs))
    return 1 if any(r.status == "failed" for r in recs) else 0
