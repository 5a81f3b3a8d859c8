#!/usr/bin/env python3
"""`stylecast live` on the CPU at 640x480 with temporal on: end-to-end fps of the real CLI
(issue #16's CPU target: >= 15 fps at the default render scale), against baselines in the same run.

Every configuration is the CLI as a subprocess (`stylecast live --source CLIP --sink null
--device cpu`), temporal on, on an unseen 640x480 clip. Per configuration: one warm-up run of
3 frames (fills the torch.compile caches on disk, as a user's first start does), a run of 3 frames
and a run of N frames; figures:
* wall fps: what the CLI prints, "fps end to end (last 60 frames)" of the N-frame run (steady state);
* CPU ms / frame: (CPU time of the N-frame run - that of the 3-frame run) / (N - 3), so start-up
  and the compile cancel out (the steadier figure on a shared machine).

`--backend compile` builds the compiled network on the first frame (blocking), so the N frames
all run compiled: that is what `--backend auto` (the default) serves once its background build is
done, which the `auto` row shows directly (a longer run; its first frames are eager).

    python bench/live_cpu.py [--clip nature_forest_hikers.mp4] [--frames 240] [--only LABEL ...]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STYLECAST_SHARED", ROOT.parent / "shared"))

# label -> (CLI arguments, extra environment)
CONFIGS = {
    "eager, full size, sequential, 2 threads (before #16)": (
        ["--backend", "eager", "--render-scale", "1", "--threads", "2", "--no-overlap"], {}),
    "compile, 0.75, sequential, 2 threads (the CPU default before the overlap)": (
        ["--backend", "compile", "--render-scale", "0.75", "--threads", "2", "--no-overlap"], {}),
    "compile, 0.75, sequential, 1 thread": (
        ["--backend", "compile", "--render-scale", "0.75", "--threads", "1", "--no-overlap"], {}),
    "compile, 0.75, overlap, 2 threads": (["--backend", "compile", "--render-scale", "0.75", "--threads", "2"], {}),
    "compile, 0.75 (overlap, 1 thread: what auto serves once built)": (
        ["--backend", "compile", "--render-scale", "0.75"], {}),
    "compile, 0.75, stock last layer (STYLECAST_SPLIT_CONVS=0)": (
        ["--backend", "compile", "--render-scale", "0.75"], {"STYLECAST_SPLIT_CONVS": "0"}),
    "compile, 0.6": (["--backend", "compile", "--render-scale", "0.6"], {}),
    "compile, 0.5": (["--backend", "compile", "--render-scale", "0.5"], {}),
    "compile, full size": (["--backend", "compile", "--render-scale", "1"], {}),
    "defaults (auto: eager until the background build is done)": ([], {}),
}


def live(clip: Path, frames: int, extra: list[str], env_extra: dict[str, str],
         root: Path = ROOT) -> tuple[float, float, str, str]:
    """(wall fps of the last 60 frames, CPU seconds, per-stage line, backend line) of one run of
    `stylecast live --source CLIP --sink null --device cpu --max-frames N EXTRA...` with the code of
    the checkout ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root), **env_extra}
    cmd = [sys.executable, "-m", "models.cli", "live", "--source", str(clip), "--sink", "null",
           "--device", "cpu", "--max-frames", str(frames), *extra]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(root), timeout=1800)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"live failed ({' '.join(extra)}): {p.stderr[-2000:]}")
    m = re.search(r"([\d.]+) fps end to end", p.stdout)
    stages = next((ln for ln in p.stdout.splitlines() if "per frame (ms)" in ln), "")
    stages = stages.split("per frame (ms): ")[-1].split(";")[0]
    backend = next((ln for ln in p.stdout.splitlines() if ln.startswith("backend:")), "backend: eager")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return (float(m.group(1)) if m else float("nan")), cpu, stages, backend.split(";")[0]


def measure(clip: Path, extra: list[str], env_extra: dict[str, str], n: int,
            root: Path = ROOT) -> tuple[float, float, str, str, float]:
    """One configuration: a 3-frame warm-up (fills the compile caches), a 3-frame and an N-frame
    run; (wall fps, CPU ms per frame of the N-3 extra frames, per-stage line, backend line, steal %
    during the N-frame run)."""
    env_extra = {"STYLECAST_CPU_COMPILE": "1", **env_extra}
    live(clip, 3, extra, env_extra, root)
    _, cpu_short, _, _ = live(clip, 3, extra, env_extra, root)
    s0, w0 = _steal(), time.time()
    fps, cpu_long, stages, backend = live(clip, n, extra, env_extra, root)
    steal = (_steal() - s0) / max((time.time() - w0) * os.sysconf("SC_CLK_TCK") * (os.cpu_count() or 1), 1e-9)
    return fps, (cpu_long - cpu_short) / (n - 3) * 1e3, stages, backend, 100 * steal


def _steal() -> int:
    """Clock ticks the hypervisor took from this VM (/proc/stat 'steal'), all CPUs."""
    with open("/proc/stat") as f:
        return int(f.readline().split()[8])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip", default="nature_forest_hikers.mp4")
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--auto-frames", type=int, default=500, help="frames of the defaults run (its build happens inside)")
    ap.add_argument("--only", nargs="*", help="labels (or prefixes) of CONFIGS to run")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per configuration, round-robin; prints median and range (the VM's speed drifts)")
    ap.add_argument("--baseline-root", type=Path,
                    help="a checkout of an earlier commit (git worktree add DIR COMMIT): adds a row running "
                         "that code with the 0.75 compile row's flags, so a change is timed against its own "
                         "before in the same run")
    args = ap.parse_args()
    roots: dict[str, Path] = {}  # label -> checkout whose code that row runs (default: this one)
    if args.baseline_root:
        rev = subprocess.run(["git", "-C", str(args.baseline_root), "rev-parse", "--short", "HEAD"],
                     capture_output=True, text=True).stdout.strip() or "?"
        label = f"code of {rev} (baseline), compile, 0.75"
        CONFIGS[label] = (["--backend", "compile", "--render-scale", "0.75"], {})
        roots[label] = args.baseline_root.resolve()
    clip = SHARED / "data" / "video" / "clips" / args.clip
    if not clip.is_file():
        print(f"live_cpu: clip not found: {clip} (needs ../shared)")
        return 2
    import torch

    print(f"# live CPU bench {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {args.clip}, torch "
          f"{torch.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    # the baseline row always runs: --only picks the rows it is compared with
    labels = [lb for lb in CONFIGS if not args.only or lb in roots or any(lb.startswith(o) for o in args.only)]
    if args.repeat > 1:  # round-robin over the configurations, so slow drifts of the VM hit all alike
        print("| configuration | wall fps, median [min-max] | runs | CPU ms / frame, median | steal % of the runs |")
        print("|---|---|---|---|---|")
        res: dict[str, list[tuple[float, float, float]]] = {lb: [] for lb in labels}
        for _ in range(args.repeat):
            for label in labels:
                extra, env_extra = CONFIGS[label]
                fps, per, _, _, steal = measure(clip, extra, env_extra, args.auto_frames if not extra else args.frames,
                                                roots.get(label, ROOT))
                res[label].append((fps, per, steal))
        for label, rows in res.items():
            f = sorted(r[0] for r in rows)
            print(f"| {label} | {statistics.median(f):.2f} [{f[0]:.2f}-{f[-1]:.2f}] | {', '.join(f'{r[0]:.2f}' for r in rows)} | "
                  f"{statistics.median(r[1] for r in rows):.0f} | {', '.join(f'{r[2]:.1f}' for r in rows)} |", flush=True)
        print(f"load {os.getloadavg()[0]:.2f} at the end")
        return 0
    print("| configuration | wall fps (last 60 frames) | CPU ms / frame | per-stage wall ms | backend |")
    print("|---|---|---|---|---|")
    for label in labels:
        extra, env_extra = CONFIGS[label]
        fps, per, stages, backend, _ = measure(clip, extra, env_extra, args.auto_frames if not extra else args.frames,
                                               roots.get(label, ROOT))
        print(f"| {label} | {fps:.2f} | {per:.0f} | {stages} | {backend} |", flush=True)
    print(f"load {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
