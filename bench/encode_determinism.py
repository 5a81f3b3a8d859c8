#!/usr/bin/env python3
"""Is libx264 (through PyAV) deterministic here? Encodes the same frames N times with
models.io.VideoWriter (the writer every command uses) and counts distinct output files.
Found 2026-12-03 on the 2-core VM (loaded): when OpenCV (cv2) is imported before the first
encode, as in every stylecast command, 1-5 % of encodes of identical frames give a different
bitstream (also with ``thread_count = 1``, with the frames' row padding zeroed, at 128x64 too);
without cv2 imported, 0 of 120. opencv-python wheels bundle their own FFmpeg libraries: a clash
with PyAV's is the suspect, not confirmed. Meanwhile stylecast's byte-identity guarantees are
about the frames (job PNGs); an output file encoded from them may differ in a few bytes.

    .venv/bin/python bench/encode_determinism.py [--n 60] [--size 48x32]
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from collections import Counter
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402,F401  (loaded first, as in every stylecast command)
import numpy as np  # noqa: E402

from models.io import VideoWriter  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=60)
    p.add_argument("--size", default="48x32")
    a = p.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    from tests.media_factory import pattern  # smooth gradient + moving square (noise did not show it)

    frames = [np.ascontiguousarray(pattern(i, h, w)) for i in range(6)]
    seen: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "e.mp4"
        for _ in range(a.n):
            with VideoWriter(out, width=w, height=h, fps=Fraction(12)) as wr:
                for f in frames:
                    wr.write(f)
            seen[hashlib.md5(out.read_bytes()).hexdigest()[:10]] += 1
    print(f"{a.n} encodes of the same 6 frames at {w}x{h}: {len(seen)} distinct files {dict(seen)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
