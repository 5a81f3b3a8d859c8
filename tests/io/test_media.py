"""models.io: reading/writing odd videos and images, atomic outputs, tensor conversions."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from models.errors import InputError, UserError
from models.io import (VideoWriter, open_video, read_image, to_tensor, to_uint8,
                          write_image)
from tests.conftest import shared_path
from tests.media_factory import jpeg_with_orientation, make_audio_only, make_corrupt_video, make_video, truncate

ROOT = Path(__file__).resolve().parents[2]


def _copy(src: Path, dst: Path, **kw: object) -> None:
    with open_video(src) as r, VideoWriter(dst, width=r.width, height=r.height, fps=r.fps,
                                           time_base=r.time_base, audio_from=src, **kw) as w:
        for f, pts, _ in r.frames_with_pts():
            w.write(f, pts=pts)


def _streams(path: Path) -> dict[str, str]:
    with av.open(str(path)) as c:
        return {s.type: s.codec_context.name for s in c.streams}


def _times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.pts * f.time_base) for f in c.decode(video=0)]


def _leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if ".part" in p.name)


def test_roundtrip_keeps_frames_timing_audio(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    frames = make_video(src, n=10, fps=12, audio="aac")
    _copy(src, dst)
    with open_video(dst) as r:
        assert (r.width, r.height, r.fps, r.frame_count, r.has_audio) == (64, 48, 12, 10, True)
        assert r.time_base == Fraction(1, 12288)  # the source's (mp4 muxer) time base survives
        out = np.stack(list(r))
    assert out.shape == frames.shape
    # Two lossy H.264 4:2:0 passes at crf 18: a few code values (chroma blur at the square's
    # edges), far below the difference between consecutive frames.
    err = np.abs(out.astype(int) - frames).mean()
    assert err < 6.0 and err < 0.3 * np.abs(frames[1:].astype(int) - frames[:-1]).mean()
    assert _streams(dst) == {"video": "h264", "audio": "aac"}
    assert _times(dst) == pytest.approx([i / 12 for i in range(10)], abs=1e-4)
    assert _leftovers(tmp_path) == []


def test_variable_frame_rate_timestamps_pass_through(tmp_path: Path) -> None:
    pts = [0, 33, 66, 200, 233, 500, 533, 600, 900, 1000]
    src, dst = tmp_path / "vfr.mp4", tmp_path / "out.mp4"
    make_video(src, n=10, pts=pts, time_base=Fraction(1, 1000), audio=None)
    _copy(src, dst)
    assert _times(dst) == pytest.approx([p / 1000 for p in pts], abs=1e-4)


def test_opus_is_copied_and_pcm_reencoded_to_aac(tmp_path: Path) -> None:
    make_video(tmp_path / "opus.mp4", audio="libopus")
    _copy(tmp_path / "opus.mp4", tmp_path / "o1.mp4")
    assert _streams(tmp_path / "o1.mp4")["audio"] == "opus"
    for pcm in ("pcm_u8", "pcm_s16le"):  # not allowed in mp4 / allowed but unplayable in browsers
        make_video(tmp_path / f"{pcm}.mkv", audio=pcm)
        _copy(tmp_path / f"{pcm}.mkv", tmp_path / "o2.mp4")
        assert _streams(tmp_path / "o2.mp4")["audio"] == "aac"
        with av.open(str(tmp_path / "o2.mp4")) as c:
            assert float(c.duration / 1e6) == pytest.approx(10 / 12, abs=0.15)
    _copy(tmp_path / "pcm_s16le.mkv", tmp_path / "o3.mkv")  # mkv plays PCM: copied
    assert _streams(tmp_path / "o3.mkv")["audio"] == "pcm_s16le"


def test_no_audio_source_writes_video_only(tmp_path: Path) -> None:
    make_video(tmp_path / "in.mp4", audio=None)
    _copy(tmp_path / "in.mp4", tmp_path / "out.mp4")
    assert _streams(tmp_path / "out.mp4") == {"video": "h264"}


def test_odd_size_kept_exactly_with_yuv444_on_request(tmp_path: Path) -> None:
    src, dst = tmp_path / "odd.mp4", tmp_path / "out.mp4"
    frames = make_video(src, width=65, height=47, pix_fmt="yuv444p")
    _copy(src, dst, pix_fmt="yuv444p")
    with open_video(dst) as r:
        assert (r.width, r.height) == (65, 47)
        out = np.stack(list(r))
    assert np.abs(out.astype(int) - frames).mean() < 3.0  # 4:4:4: no chroma blur
    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "yuv444p"


def test_10bit_input_decodes_to_8bit_rgb(tmp_path: Path) -> None:
    frames = make_video(tmp_path / "p10.mp4", pix_fmt="yuv420p10le")
    with open_video(tmp_path / "p10.mp4") as r:
        out = np.stack(list(r))
    assert out.dtype == np.uint8 and out.shape == frames.shape
    assert np.abs(out.astype(int) - frames).mean() < 6.0


@pytest.mark.parametrize("rotation, corner", [(90, "bottom_left"), (-90, "top_right"), (180, "bottom_right")])
def test_rotation_is_applied_so_frames_are_upright(tmp_path: Path, rotation: int, corner: str) -> None:
    # Stored frame 0 has its white 12x12 square top-left; a counter-clockwise display rotation
    # moves it to the named corner of the upright picture.
    make_video(tmp_path / "rot.mp4", rotation=rotation, audio=None)
    with open_video(tmp_path / "rot.mp4") as r:
        first = next(iter(r))
        assert r.rotation == rotation % 360
        want = (64, 48) if rotation % 180 else (48, 64)
        assert (r.height, r.width) == want == first.shape[:2]
    h, w = first.shape[:2]
    boxes = {"bottom_left": first[h - 12:, :12], "top_right": first[:12, w - 12:],
             "bottom_right": first[h - 12:, w - 12:]}
    assert boxes[corner].mean() > 240
    assert first[:12, :12].mean() < 200


def test_bad_inputs_raise_one_line_input_errors(tmp_path: Path) -> None:
    (tmp_path / "text.mp4").write_text("not a video")
    make_audio_only(tmp_path / "audio.m4a")
    make_video(tmp_path / "empty.mkv", n=0, audio=None)
    make_video(tmp_path / "full.mp4", n=10, audio=None)
    truncate(tmp_path / "full.mp4", tmp_path / "cut.mp4", 0.5)  # mp4 index is at the end
    cases = {"missing.mp4": "not found", "text.mp4": "cannot open", "audio.m4a": "no video stream",
             "empty.mkv": "no video frames", "cut.mp4": "cannot open", ".": "directory"}
    for name, words in cases.items():
        with pytest.raises(InputError, match=words) as ei:
            open_video(tmp_path / name)
        assert "\n" not in str(ei.value)


def test_truncated_streamable_file_yields_the_decodable_prefix(tmp_path: Path) -> None:
    make_video(tmp_path / "full.mkv", n=30, audio=None)
    truncate(tmp_path / "full.mkv", tmp_path / "cut.mkv", 0.6)
    with open_video(tmp_path / "cut.mkv") as r:
        n = sum(1 for _ in r)
    assert 5 <= n < 30


def test_corrupt_payload_raises_while_decoding(tmp_path: Path) -> None:
    make_corrupt_video(tmp_path / "full.mkv", tmp_path / "bad.mkv")
    with pytest.raises(InputError, match="cannot decode"):
        with open_video(tmp_path / "bad.mkv") as r:
            for _ in r:
                pass


def test_writer_failure_and_interrupt_leave_no_file(tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    frame = np.zeros((48, 64, 3), np.uint8)
    for exc in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with VideoWriter(out, width=64, height=48, fps=12) as w:
                w.write(frame)
                raise exc
        assert not out.exists() and _leftovers(tmp_path) == []
    with pytest.raises(ValueError, match=r"expected uint8 array of shape \(48, 64, 3\)"):
        with VideoWriter(out, width=64, height=48, fps=12) as w:
            w.write(np.zeros((48, 63, 3), np.uint8))
    # A caller that swallows the error must not get a silent "success" without a file.
    with pytest.raises(RuntimeError, match="not written"):
        with VideoWriter(out, width=64, height=48, fps=12) as w:
            w.write(frame)
            with pytest.raises(ValueError):
                w.write(frame.astype(np.float32))
    with pytest.raises(InputError, match="no frames"):
        with VideoWriter(out, width=64, height=48, fps=12):
            pass
    assert not out.exists() and _leftovers(tmp_path) == []


def test_writer_refuses_bad_destinations(tmp_path: Path) -> None:
    kw = dict(width=64, height=48, fps=12)
    with pytest.raises(UserError, match="does not exist"):
        VideoWriter(tmp_path / "nodir" / "o.mp4", **kw)
    with pytest.raises(UserError, match="unsupported output extension '.avi'"):
        VideoWriter(tmp_path / "o.avi", **kw)
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root ignores directory permissions: make access() say what a user sees
        real_access = os.access
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(os, "access", lambda p, m: False if Path(p) == ro else real_access(p, m))
            with pytest.raises(UserError, match="not writable"):
                VideoWriter(ro / "o.mp4", **kw)
    else:
        with pytest.raises(UserError, match="not writable"):
            VideoWriter(ro / "o.mp4", **kw)
    assert list(ro.iterdir()) == []


def test_full_disk_gives_clear_error_and_no_partial_file(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes write() fail with EFBIG (SIGXFSZ ignored), like a full disk would.
    script = textwrap.dedent(f"""
        import resource, signal, sys, numpy as np
        sys.path.insert(0, {str(ROOT)!r})
        from models.io import VideoWriter
        from models.errors import UserError
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
        rng = np.random.default_rng(0)
        try:
            with VideoWriter(sys.argv[1], width=128, height=96, fps=12, crf=0) as w:
                for _ in range(20):
                    w.write(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8))
        except UserError as e:
            print(e); sys.exit(2)
    """)
    out = tmp_path / "o.mp4"
    res = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2, res.stderr
    assert "file too large" in res.stdout and res.stdout.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_images_roundtrip_and_odd_formats(tmp_path: Path) -> None:
    import cv2
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (7, 9, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), img)  # lossless, RGB order kept
    grey16 = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000)
    cv2.imwrite(str(tmp_path / "g.png"), grey16)
    g = read_image(tmp_path / "g.png")
    assert g.shape == (3, 4, 3) and g[0, 1, 0] == round(5000 * 255 / 65535)
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[..., 0] = 200  # blue in OpenCV's BGRA
    cv2.imwrite(str(tmp_path / "t.png"), bgra)
    assert read_image(tmp_path / "t.png")[0, 0].tolist() == [0, 0, 200]
    (tmp_path / "x.png").write_text("nope")
    with pytest.raises(InputError, match="cannot decode"):
        read_image(tmp_path / "x.png")
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(UserError, match="unsupported output extension"):
        write_image(tmp_path / "a.gifx", img)
    assert _leftovers(tmp_path) == []


def test_tensor_conversions_round_and_clamp() -> None:
    u8 = np.arange(24, dtype=np.uint8).reshape(2, 2, 2, 3) * 10
    t = to_tensor(u8)
    assert t.shape == (2, 3, 2, 2) and t.dtype == torch.float32
    assert t[1, 2, 1, 1].item() == pytest.approx(230 / 255)
    np.testing.assert_array_equal(to_uint8(t), u8)
    assert to_tensor(list(u8)).shape == (2, 3, 2, 2)
    assert to_tensor(u8[0], dtype=torch.float64).dtype == torch.float64
    # channels-first (1,3,1,2): pixel 0 = (-0.2, 0.4999/255, 0.5), pixel 1 = (0, 0.5/255, 1.3)
    vals = torch.tensor([-0.2, 0.0, 0.4999 / 255, 0.5 / 255, 0.5, 1.3]).view(1, 3, 1, 2)
    assert to_uint8(vals).reshape(-1).tolist() == [0, 0, 128, 0, 1, 255]
    with pytest.raises(ValueError, match="expected uint8"):
        to_tensor(u8.astype(np.float32))


def test_real_shared_video_metadata_and_frames() -> None:
    path = shared_path("data", "video", "cockatoo_720p.mp4")
    with open_video(path) as r:
        assert (r.width, r.height, r.fps, r.frame_count) == (1280, 720, 20, 280)
        assert r.duration == pytest.approx(14.0, abs=0.1)
        it = iter(r)
        frames = [next(it) for _ in range(3)]
    assert all(f.shape == (720, 1280, 3) and f.dtype == np.uint8 for f in frames)
    assert 20 < frames[0].mean() < 235  # real content, not black


def test_midstream_resolution_change_is_resized_to_first_size(tmp_path: Path) -> None:
    import cv2
    a = make_video(tmp_path / "a.ts", n=4, audio=None)
    b = make_video(tmp_path / "b.ts", n=4, width=96, height=72, audio=None)
    # MPEG-TS files concatenate bytewise into one stream whose size changes at frame 4.
    (tmp_path / "ab.ts").write_bytes((tmp_path / "a.ts").read_bytes() + (tmp_path / "b.ts").read_bytes())
    with open_video(tmp_path / "ab.ts") as r:
        got = np.stack(list(r))
    assert got.shape == (8, 48, 64, 3)
    want = np.stack([*a, *(cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA) for f in b)])
    assert np.abs(got.astype(int) - want).mean() < 6


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    img = np.full((20, 30, 3), 40, np.uint8)
    img[:6, :6] = 250  # marker top-left
    plain = read_image(jpeg_with_orientation(tmp_path / "o1.jpg", img, 1))
    assert plain.shape == (20, 30, 3) and plain[:6, :6].mean() > 200
    # Orientation 6: the camera was turned, display rotated 90 degrees clockwise: marker top-right.
    up = read_image(jpeg_with_orientation(tmp_path / "o6.jpg", img, 6))
    assert up.shape == (30, 20, 3)
    assert up[:6, -6:].mean() > 200 and up[:6, :6].mean() < 100


def test_colours_survive_and_output_is_tagged_bt709(tmp_path: Path) -> None:
    img = np.zeros((48, 64, 3), np.uint8)
    for i, c in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 150, 50)]):
        img[:, 16 * i:16 * (i + 1)] = c
    with VideoWriter(tmp_path / "c.mp4", width=64, height=48, fps=10, crf=0) as w:
        w.write(img)
        w.write(img)
    with av.open(str(tmp_path / "c.mp4")) as c:
        frame = next(c.decode(video=0))
        assert (frame.colorspace, frame.color_range) == (1, 1)  # AVCOL_SPC_BT709, MPEG range
    with open_video(tmp_path / "c.mp4") as r:
        got = next(iter(r))
    # centre columns of each patch (4:2:0 chroma blurs patch edges)
    for i in range(4):
        cols = slice(16 * i + 4, 16 * i + 12)
        assert np.abs(got[:, cols].astype(int) - img[:, cols]).max() <= 3, i
