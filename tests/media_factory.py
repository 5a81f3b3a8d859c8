"""Generate tiny, odd test videos with PyAV (tests only).

Frames are a colour gradient with a bright square moving 3 px/frame, so consecutive frames differ
and orientation is visible (the square starts top-left).
"""
from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import numpy as np


def pattern(i: int, height: int, width: int) -> np.ndarray:
    """Frame ``i``: smooth gradient (codec-friendly) plus a 12x12 white square at (3i, 3i)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([x / max(width - 1, 1), y / max(height - 1, 1),
                    np.full_like(x, (i % 8) / 8.0)], axis=-1) * 200 + 20
    s = 3 * i
    img[s:s + 12, s:s + 12] = 255
    return img.astype(np.uint8)


def make_video(path: Path, *, width: int = 64, height: int = 48, n: int = 10,
               fps: int | Fraction = 12, pix_fmt: str = "yuv420p", codec: str = "libx264",
               audio: str | None = "aac", rotation: int = 0,
               pts: Sequence[int] | None = None, time_base: Fraction | None = None) -> np.ndarray:
    """Write a test video; returns the (n,H,W,3) uint8 frames as encoded (before rotation).

    ``audio``: None or an encoder name ("aac", "libopus", "pcm_u8", ...) for a 440 Hz tone
    covering the video's duration. ``rotation``: counter-clockwise display rotation (degrees)
    stored as display-matrix side data, like phone footage. ``pts`` (in ``time_base``) gives
    variable frame rate timing.
    """
    frames = np.stack([pattern(i, height, width) for i in range(n)]) if n else np.zeros((0, height, width, 3), np.uint8)
    # Bit-exact, single-threaded encoding: identical bitstreams on every run.
    with av.open(str(path), mode="w", container_options={"fflags": "+bitexact"}) as c:
        v = c.add_stream(codec, rate=fps)
        v.width, v.height, v.pix_fmt = width, height, pix_fmt
        v.thread_count = 1
        v.codec_context.flags |= av.codec.context.Flags.bitexact
        if time_base is not None:
            v.codec_context.time_base = time_base
            v.time_base = time_base
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if audio is not None:
            rate = 48000 if "opus" in audio else 16000
            a = c.add_stream(audio, rate=rate)
            a.layout = "mono"
        if n == 0:
            c.start_encoding()  # header only: a valid container without a single frame
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            if pts is not None:
                vf.pts, vf.time_base = pts[i], time_base
            for p in v.encode(vf):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
        if a is not None:
            seconds = (float(pts[-1] * time_base) + 0.1) if pts is not None else n / float(fps)
            _write_tone(a, seconds)
    return frames


def _write_tone(stream: av.audio.AudioStream, seconds: float) -> None:
    rate = stream.rate
    total = max(int(seconds * rate), 1)
    t = np.arange(total) / rate
    tone = 0.3 * np.sin(2 * np.pi * 440 * t)
    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    chunk = 1024
    for start in range(0, total, chunk):
        seg = tone[start:start + chunk]
        if fmt.startswith("u8"):
            data = (seg * 127 + 128).astype(np.uint8)[None]
        elif fmt.startswith("s16"):
            data = (seg * 32767).astype(np.int16)[None]
        else:
            data = seg.astype(np.float32)[None]
        af = av.AudioFrame.from_ndarray(data, format=fmt, layout="mono")
        af.sample_rate, af.pts = rate, start
        for p in stream.encode(af):
            stream.container.mux(p)
    for p in stream.encode(None):
        stream.container.mux(p)


def make_audio_only(path: Path, seconds: float = 0.5) -> None:
    with av.open(str(path), mode="w") as c:
        a = c.add_stream("aac", rate=16000)
        a.layout = "mono"
        _write_tone(a, seconds)


def truncate(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def jpeg_with_orientation(path: Path, img_rgb: np.ndarray, orientation: int) -> Path:
    """Write a JPEG carrying a minimal EXIF APP1 segment with the given Orientation tag (1-8)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img_rgb[..., ::-1]))
    assert ok
    tiff = (b"MM\x00*\x00\x00\x00\x08" + struct.pack(">H", 1)
            + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0))
    payload = b"Exif\x00\x00" + tiff
    data = buf.tobytes()
    path.write_bytes(data[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + data[2:])
    return path


def make_corrupt_video(good: Path, bad: Path) -> None:
    """A valid 30-frame mkv at ``good`` and, at ``bad``, the same packets with every 50th byte
    of each video payload from the 11th packet on randomised (fixed seed). The corruption is
    applied to packets, not to file offsets, so it hits the same bitstream bytes whatever the
    container header holds (its size varies with the FFmpeg build's metadata)."""
    make_video(good, n=30, audio=None)
    rng = np.random.default_rng(0)
    with av.open(str(good)) as src, av.open(str(bad), mode="w", format="matroska") as dst:
        s_in = src.streams.video[0]
        s_out = dst.add_stream_from_template(s_in)
        for k, pkt in enumerate(src.demux(s_in)):
            if pkt.size == 0:
                continue
            data = bytearray(bytes(pkt))
            if k >= 10:  # the first frames decode, then the stream breaks mid-way
                for i in range(4, len(data), 50):
                    data[i] = int(rng.integers(256))
            out = av.Packet(bytes(data))
            out.pts, out.dts, out.time_base = pkt.pts, pkt.dts, pkt.time_base
            out.is_keyframe = pkt.is_keyframe
            out.stream = s_out
            dst.mux(out)
