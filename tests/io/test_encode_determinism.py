"""Same frames in, same file out: `stylecast video`/`batch` promise that a resumed or retried
job's output is byte-identical to an uninterrupted run. libx264 (core 165, PyAV 18.1 wheels)
reads an uninitialised stack value; with its AVX-512 code the bitstream depended on what had run
before (1-5 % of encodes at 48x32 with OpenCV imported, most at 320x240 in a plain loop). The
writer caps x264 at AVX2 on AVX-512 CPUs (models/io/video_write.py). On a CPU without AVX-512
these tests cannot fail (docs/bench/media.md, 2026-12-03)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2  # noqa: F401  (imported first, as in every stylecast command)
import numpy as np
import pytest

try:
    from numpy._core._multiarray_umath import __cpu_features__ as CPU
except ImportError:  # the writer falls back the same way
    CPU = {}

from models.io import VideoWriter
from tests.media_factory import pattern

W, H = 320, 240


def frames() -> list[np.ndarray]:
    return [np.ascontiguousarray(pattern(i, H, W)) for i in range(6)]


def packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def write(path: Path) -> bytes:
    with VideoWriter(path, width=W, height=H, fps=Fraction(12)) as wr:
        for f in frames():
            wr.write(f)
    return path.read_bytes()


def at_depth(depth: int, fn):  # type: ignore[no-untyped-def]
    return fn() if depth == 0 else at_depth(depth - 1, fn)


def reference(path: Path) -> list[bytes]:
    """The same encode with x264's SSE4.2 code: the bitstream to expect (x264's assembly levels
    are bit-exact with one another; its C code and its AVX-512 code let the stale value through,
    the SSE4.2 and AVX2 code gave one bitstream in 150 encodes each, 2026-12-03)."""
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("libx264", rate=12)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.options = {"crf": "18", "preset": "medium", "x264-params": "asm=SSE4.2"}
        cc = s.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1
        for i, f in enumerate(frames()):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24").reformat(
                format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
            vf.pts = i
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    return packets(path)


def test_same_frames_give_byte_identical_files(tmp_path: Path) -> None:
    # Each encode from a different Python call depth, so stack frames lie over different old
    # data, as after a resumed job's other history; in a flat loop the stale value often repeats.
    files = {at_depth(3 * k, lambda: write(tmp_path / "e.mp4")) for k in range(16)}
    assert len(files) == 1, f"16 encodes of the same frames gave {len(files)} different files"


@pytest.mark.skipif(not CPU.get("SSE42"), reason="the reference needs x264's SSE4.2 code")
def test_bitstream_matches_x264_sse42_code(tmp_path: Path) -> None:
    """Known value: the writer's H.264 packets equal those of x264's SSE4.2 code, every time."""
    ref = reference(tmp_path / "ref.mp4")
    assert len(ref) == 6
    for k in range(8):
        at_depth(5 * k, lambda: write(tmp_path / "w.mp4"))
        assert packets(tmp_path / "w.mp4") == ref, f"encode {k} differs from x264's SSE4.2 code"
