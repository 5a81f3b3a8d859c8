"""Peak memory of `stylecast stylize` on a large photo, tiled (default) vs untiled (--tile 0),
through the CLI in a subprocess each (peak RSS from resource.getrusage of that child).

    python bench/tiling_memory.py [--width 6000 --height 4000] [--style wave] [--untiled] [--memory-only]

The photo is a real one (../shared/data/content/chicago.jpg, else the embedded sample frame)
upscaled to the size asked for and written as JPEG. --untiled also runs --tile 0 (needs the
memory it measures: ~12 GB at 24 MP). Prints peak RSS (MB), wall time and the ratio.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
sys.argv = ["stylecast"] + sys.argv[1:]
import torch
torch.set_num_threads(int(__import__("os").environ.get("BENCH_THREADS", "2")))
from models.cli import main
t = time.perf_counter()
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "seconds": time.perf_counter() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


LIB = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(int(__import__("os").environ.get("BENCH_THREADS", "2")))
from models.io import read_image
from models.styles.registry import load_stylizer
from models.nets.tiling import TileConfig
from offline.stylize import _run_tiled
net = load_stylizer(sys.argv[2])
t = time.perf_counter()
img = read_image(sys.argv[1])
out = _run_tiled(net, img, torch.device("cpu"), TileConfig(tile=int(sys.argv[3]), exact_stats=False))
print(json.dumps({"rc": 0, "seconds": time.perf_counter() - t, "shape": list(out.shape),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_library(photo: Path, style: str, tile: int) -> dict:
    """The stylize path's tiler (offline.stylize._run_tiled) with low-resolution statistics only:
    same buffers and tiles as the CLI, without the exact-statistics passes (which allocate
    one tile at a time), so a 24 MP peak can be measured in minutes on a small CPU."""
    p = subprocess.run([sys.executable, "-c", LIB, str(photo), style, str(tile)], capture_output=True, text=True,
                       cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    if p.returncode != 0:
        return {"rc": p.returncode, "error": p.stderr.strip().splitlines()[-1:], "peak_mb": None}
    return json.loads(p.stdout.strip().splitlines()[-1])


def make_photo(path: Path, width: int, height: int) -> None:
    import cv2
    import numpy as np

    src = ROOT.parent / "shared" / "data" / "content" / "chicago.jpg"
    if src.is_file():
        img = cv2.imread(str(src))
    else:
        sys.path.insert(0, str(ROOT))
        from models.io.sample import sample_frames

        img = np.ascontiguousarray(sample_frames(1)[0][..., ::-1])
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 92])


def run(photo: Path, out: Path, style: str, extra: list[str]) -> dict:
    cmd = [sys.executable, "-c", CHILD, "stylize", str(photo), "-o", str(out), "-s", style, "--device", "cpu", *extra]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    if p.returncode != 0 or not p.stdout.strip():
        return {"rc": p.returncode, "error": p.stderr.strip().splitlines()[-1:] if p.stderr else "", "peak_mb": None}
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=6000)
    ap.add_argument("--height", type=int, default=4000)
    ap.add_argument("--style", default="wave")
    ap.add_argument("--tile", type=int, default=1024)
    ap.add_argument("--untiled", action="store_true")
    ap.add_argument("--memory-only", action="store_true",
                    help="peak memory of the tiler without the exact-statistics passes (minutes, not hours, on a CPU)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        photo = Path(d) / "photo.jpg"
        make_photo(photo, a.width, a.height)
        mp = a.width * a.height / 1e6
        print(f"photo {a.width}x{a.height} ({mp:.1f} MP), style {a.style}")
        base = run(Path(d) / "photo.jpg", Path(d) / "small.png", a.style, ["--max-side", "64"])
        print(f"baseline (same process, 64 px output): peak RSS {base['peak_mb']:.0f} MB")
        if a.memory_only:
            lib = run_library(photo, a.style, a.tile)
            print(f"tiler, low-res statistics only (--memory-only), tile {a.tile}: peak RSS {lib['peak_mb']:.0f} MB, "
                  f"{lib.get('seconds', float('nan')):.0f} s, output {lib.get('shape')}")
            return
        tiled = run(photo, Path(d) / "tiled.png", a.style, ["--tile", str(a.tile)])
        print(f"tiled --tile {a.tile}: rc {tiled['rc']}, peak RSS {tiled['peak_mb']:.0f} MB, "
              f"{tiled.get('seconds', float('nan')):.0f} s")
        if a.untiled:
            un = run(photo, Path(d) / "untiled.png", a.style, ["--tile", "0"])
            if un.get("peak_mb"):
                print(f"untiled --tile 0: rc {un['rc']}, peak RSS {un['peak_mb']:.0f} MB, {un['seconds']:.0f} s; "
                      f"tiled/untiled memory {tiled['peak_mb'] / un['peak_mb']:.2f}")
            else:
                print(f"untiled --tile 0: failed ({un})")


if __name__ == "__main__":
    main()
