"""Atomic video writing with PyAV: H.264 (libx264) plus the source's audio.

Policies (documented in docs/media.md):

* Atomic: frames go to a hidden temp file next to the output (same filesystem, so the final
  ``os.replace`` is atomic); it is renamed only after the trailer is written. Any exception,
  including ``KeyboardInterrupt`` and ENOSPC/EFBIG, removes the temp file.
* Size and chroma: yuv420p by default (plays everywhere). 4:2:0 chroma needs even sizes, so an
  odd width or height is padded to even by repeating the last column/row (nothing is cut; a
  :class:`models.errors.UserWarning_` says so once). ``pix_fmt="yuv444p"`` (High 4:4:4
  profile) keeps the exact size and full chroma; many browsers and hardware players cannot
  play it, so it is only used on request.
* Timing: pass source ``pts`` (in ``time_base`` units) to keep variable frame rate timing;
  without pts, frames are spaced by ``1/fps``. The mp4 muxer may pick a finer time base than
  requested (it wants >= 10000 ticks/s); times are rescaled exactly.
* Colour: RGB is converted to limited-range BT.709 Y'CbCr and the stream is tagged so (HD
  convention; untagged files get BT.601 in some players and BT.709 in others).
* Audio: ``audio_from`` copies the first audio stream's packets unchanged when the container
  accepts that codec (for mp4: codecs players support, see ``_MP4_AUDIO_COPY``), else decodes
  and re-encodes it to AAC.
"""
from __future__ import annotations

import errno
import os
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from models.errors import InputError, UserError, UserWarning_
from models.io.atomic import publish, temp_sibling

if TYPE_CHECKING:  # av is imported where it is used: reading/writing images needs no FFmpeg
    import av

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")
PIX_FMTS = ("yuv420p", "yuv444p")  # H.264 chroma: 4:2:0 plays everywhere (default), 4:4:4 on request
# Audio codecs copied into mp4 as they are. FFmpeg also muxes PCM into mp4 (ISO/IEC 23003-5),
# but browsers and most players cannot play that, so anything else is re-encoded to AAC.
_MP4_AUDIO_COPY = frozenset({"aac", "mp3", "opus", "flac", "alac", "ac3", "eac3"})
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def _x264_cpu_cap(codec: str) -> dict[str, str]:
    """x264 options that keep its output a function of the frames alone (byte-identical files).

    libx264 (core 165 in PyAV 18.1 wheels) reads an uninitialised stack value during encoding
    (valgrind). With its AVX-512 code that value reaches the bitstream, which then depends on what
    ran before on the thread: on an AVX-512 CPU 1-5 % of encodes of the same frames differed at
    48x32 (OpenCV imported), most of them at 320x240. With the AVX2 (and SSE4.2) code, 150 of 150
    encodes were identical, so x264 is capped at AVX2, which every AVX-512 CPU has; about 11 %
    slower at 720p (docs/bench/media.md, 2026-12-03). numpy's runtime CPU detection says whether
    AVX-512 is there; where it is absent or unknown x264 keeps its own detection.
    """
    if codec != "libx264":
        return {}
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as cpu
    except ImportError:  # numpy < 2 or a future layout: x264 keeps its own CPU detection
        return {}
    return {"x264-params": "asm=AVX2"} if cpu.get("AVX512F") and cpu.get("AVX2") else {}


def check_output_path(path: str | Path, suffixes: tuple[str, ...]) -> Path:
    """Validate an output path before any work starts (suffix, existing writable directory)."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise UserError(f"unsupported output extension {path.suffix or '(none)'!r} for {path}: "
                        f"expected one of {', '.join(suffixes)}")
    parent = path.parent.resolve()
    if not parent.is_dir():
        raise UserError(f"output directory does not exist: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"output directory is not writable: {parent}")
    if path.is_dir():
        raise UserError(f"output path is a directory: {path}")
    return path


def write_error(path: Path, exc: BaseException) -> UserError:
    """Translate an OS/FFmpeg write failure into one clear line."""
    code = getattr(exc, "errno", None)
    if code in _FULL or (code is not None and abs(code) in _FULL):
        what = {errno.ENOSPC: "no space left on device", errno.EFBIG: "file too large",
                errno.EDQUOT: "disk quota exceeded"}[abs(code)]
        return UserError(f"cannot write {path}: {what} (no output file was left behind)")
    msg = " ".join(str(getattr(exc, "strerror", None) or exc).split())
    return UserError(f"cannot write {path}: {msg} (no output file was left behind)")


class VideoWriter:
    """Context manager writing HxWx3 uint8 RGB frames to ``path`` atomically."""

    def __init__(self, path: str | Path, *, width: int, height: int, fps: Fraction | float,
                 time_base: Fraction | None = None, audio_from: str | Path | None = None,
                 crf: int = 18, codec: str = "libx264", preset: str = "medium",
                 pix_fmt: str = "yuv420p") -> None:
        self.path = check_output_path(path, VIDEO_SUFFIXES)
        if pix_fmt not in PIX_FMTS:
            raise UserError(f"pixel format: expected one of {', '.join(PIX_FMTS)}, got {pix_fmt!r}")
        if not (isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0):
            raise ValueError(f"VideoWriter: expected positive int width/height, got {width!r}x{height!r}")
        fps = Fraction(fps).limit_denominator(1_000_000) if fps else Fraction(0)
        if fps <= 0:
            raise ValueError(f"VideoWriter: expected fps > 0, got {fps}")
        self.width, self.height, self.fps = width, height, fps
        self.time_base = Fraction(time_base) if time_base else 1 / fps
        self._tmp = temp_sibling(self.path, keep_suffix=True)  # FFmpeg picks the muxer by suffix
        self._n = 0
        self._last_pts: int | None = None
        self._audio_src: av.container.InputContainer | None = None
        self._audio_iter: Iterator[tuple[av.Packet | av.AudioFrame, float]] | None = None
        self._pending_audio: tuple[av.Packet | av.AudioFrame, float] | None = None
        self._closed = False
        self._aborted = False
        import av

        try:
            self._out = av.open(str(self._tmp), mode="w")
            s = self._out.add_stream(codec, rate=fps)
            # 4:2:0 subsamples chroma 2x2: odd sizes are padded (write()) to the next even size
            self._pad = (height % 2, width % 2) if pix_fmt == "yuv420p" else (0, 0)
            s.width, s.height = width + self._pad[1], height + self._pad[0]
            s.pix_fmt = pix_fmt
            if any(self._pad):
                import warnings

                warnings.warn(UserWarning_(
                    f"{width}x{height} is odd: {self.path.name} is {s.width}x{s.height} (last "
                    f"{'column' if self._pad[1] else 'row'}{' and row' if all(self._pad) else ''} repeated) so that "
                    f"every player can play it (yuv420p); --pix-fmt yuv444p keeps the exact size"), stacklevel=2)
            if codec in ("libx264", "libx265"):
                # preset trades speed for size at equal quality: on the shared dev VM at 720p,
                # veryfast encodes 2.5x faster than medium for a 6 % larger file.
                s.options = {"crf": str(int(crf)), "preset": preset, **_x264_cpu_cap(codec)}
            # Convert with BT.709 and tag it: players assume BT.709 for untagged HD and BT.601
            # for SD, so untagged output would shift colours in one case or the other.
            cc = s.codec_context
            cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 1, 1, 1, 1  # BT.709, TV range
            s.codec_context.time_base = self.time_base
            s.time_base = self.time_base
            self._video = s
            if audio_from is not None:
                self._open_audio(Path(audio_from))
        except BaseException as exc:
            self._abort()
            if isinstance(exc, (av.error.FFmpegError, OSError)):
                raise write_error(self.path, exc) from None
            raise

    # -- audio ---------------------------------------------------------------------------
    def _open_audio(self, src: Path) -> None:
        import av

        try:
            self._audio_src = av.open(str(src), mode="r")
        except av.error.FFmpegError as exc:
            raise InputError(f"cannot read audio from {src}: {exc}") from None
        if not self._audio_src.streams.audio:
            self._audio_src.close()
            self._audio_src = None
            return
        ain = self._audio_src.streams.audio[0]
        name = ain.codec_context.codec.canonical_name  # "mp3", not the decoder's "mp3float"
        if self.path.suffix.lower() in (".mp4", ".m4v"):
            copy = name in _MP4_AUDIO_COPY
        else:
            copy = name in self._out.supported_codecs
        if copy:
            aout = self._out.add_stream_from_template(ain)
            self._audio_iter = self._copy_packets(ain, aout)
        else:  # e.g. PCM / ADPCM in mp4: decode and re-encode to AAC
            aout = self._out.add_stream("aac", rate=ain.rate or 48000)
            # Raw PCM in mkv/wav may carry an unspecified order ("1 channels") that the AAC
            # encoder rejects: name the standard layout for the channel count.
            channels = ain.layout.nb_channels
            aout.layout = {1: "mono", 2: "stereo"}.get(channels, ain.layout.name)
            self._audio_iter = self._reencode(ain, aout)

    def _copy_packets(self, ain: av.audio.AudioStream,
                      aout: av.audio.AudioStream) -> Iterator[tuple[av.Packet, float]]:
        for pkt in self._audio_src.demux(ain):  # type: ignore[union-attr]
            if pkt.dts is None:  # demuxer flush packet
                continue
            t = float(pkt.pts * pkt.time_base) if pkt.pts is not None else 0.0
            pkt.stream = aout
            yield pkt, t

    def _reencode(self, ain: av.audio.AudioStream,
                  aout: av.audio.AudioStream) -> Iterator[tuple[av.Packet, float]]:
        for frame in self._audio_src.decode(ain):  # type: ignore[union-attr]
            t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.0
            frame.pts = None  # let the encoder's FIFO number the re-chunked frames
            for pkt in aout.encode(frame):
                yield pkt, t
        for pkt in aout.encode(None):
            yield pkt, float("inf")

    def _mux_audio_until(self, t: float) -> None:
        """Interleave: mux audio up to video time ``t`` seconds (all of it when ``t`` is inf)."""
        if self._audio_iter is None:
            return
        while True:
            item = self._pending_audio or next(self._audio_iter, None)
            self._pending_audio = None
            if item is None:
                self._audio_iter = None
                return
            if item[1] > t:
                self._pending_audio = item
                return
            self._out.mux(item[0])

    # -- video ---------------------------------------------------------------------------
    def write(self, frame: np.ndarray, pts: int | None = None) -> None:
        """Encode one HxWx3 uint8 RGB frame; ``pts`` in ``time_base`` units (None: 1/fps steps)."""
        if self._closed:
            raise RuntimeError("VideoWriter: write() after close() or after an earlier error")
        want = (self.height, self.width, 3)
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.shape != want:
            got = (frame.shape, frame.dtype) if isinstance(frame, np.ndarray) else type(frame).__name__
            self._abort()
            raise ValueError(f"VideoWriter.write: expected uint8 array of shape {want}, got {got}")
        if pts is None:
            pts = round(self._n / self.fps / self.time_base)
        # Encoders refuse non-increasing pts (duplicated timestamps in broken sources): nudge.
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1
        import av

        if any(self._pad):
            frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24").reformat(
            format=self._video.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG")
        vf.pts, vf.time_base = pts, self.time_base
        self._guard(self._encode, vf)
        self._last_pts = pts
        self._n += 1

    def _encode(self, vf: av.VideoFrame | None) -> None:
        for pkt in self._video.encode(vf):
            self._out.mux(pkt)
        if vf is not None:
            self._mux_audio_until(float(vf.pts * self.time_base))

    def _guard(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        import av

        try:
            fn(*args)
        except BaseException as exc:
            self._abort()
            if isinstance(exc, (av.error.FFmpegError, OSError)):
                raise write_error(self.path, exc) from None
            raise

    @property
    def frames_written(self) -> int:
        return self._n

    def close(self) -> None:
        """Flush, write the trailer and rename the temp file onto ``path``."""
        if self._aborted:  # an earlier error removed the temp file: never report success
            raise RuntimeError(f"VideoWriter: {self.path} was not written (aborted by an earlier error)")
        if self._closed:
            return
        if self._n == 0:
            self._abort()
            raise InputError(f"no frames were written to {self.path}; nothing saved")
        self._guard(self._finish)

    def _finish(self) -> None:
        self._encode(None)
        self._mux_audio_until(float("inf"))
        self._out.close()
        if self._audio_src is not None:
            self._audio_src.close()
        # FFmpeg's buffered I/O may swallow a late write error; an empty/short file is a failure.
        if not self._tmp.exists() or self._tmp.stat().st_size == 0:
            raise OSError(errno.EIO, "output file is empty after closing")
        publish(self._tmp, self.path)
        self._closed = True

    def _abort(self) -> None:
        self._closed = self._aborted = True
        for c in (getattr(self, "_out", None), self._audio_src):
            try:
                if c is not None:
                    c.close()
            except Exception:  # noqa: BLE001 - already failing; the original error matters
                pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type: type | None, exc: BaseException | None, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort()
