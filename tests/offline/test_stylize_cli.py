"""`stylecast stylize` end to end (in-process) with an injected deterministic stylizer."""
from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from models.cli import main
from models.io import open_video, read_image, write_image
from offline import stylize as st
from tests.conftest import shared_path
from tests.media_factory import make_audio_only, make_corrupt_video, make_video, truncate


@pytest.fixture
def invert(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Replace the style loader by ``1 - x`` (exactly checkable); records requested styles."""
    asked: list[str] = []

    def load(name: str, *, device: torch.device, dtype: torch.dtype,  # type: ignore[no-untyped-def]
             preserve_color: float | None = None):
        from models.nets.color import ColorPreserving

        asked.append(name)
        return ColorPreserving(lambda x: 1.0 - x, amount=preserve_color) if preserve_color else (lambda x: 1.0 - x)

    monkeypatch.setattr(st, "load_style", load)
    return asked


def _run(*argv: object) -> int:
    return main(["stylize", *map(str, argv), "--device", "cpu"])


def _clean(d: Path, keep: set[str]) -> bool:
    return {p.name for p in d.iterdir()} == keep


def test_video_keeps_frames_timing_audio_and_writes_preview(tmp_path: Path, invert: list[str], capsys) -> None:
    src, out, prev = tmp_path / "in.mp4", tmp_path / "out.mp4", tmp_path / "prev.png"
    frames = make_video(src, n=10, fps=12, audio="aac")
    assert _run(src, "-s", "wave", "-o", out, "--preview", prev, "--batch-size", 3) == 0
    assert invert == ["wave"]
    with open_video(out) as r:
        assert (r.width, r.height, r.fps, r.frame_count, r.has_audio) == (64, 48, 12, 10, True)
        got = np.stack(list(r))
    # 1 - x through two lossy H.264 passes: close to the inverted source, far from the source.
    assert np.abs(got.astype(int) - (255 - frames.astype(int))).mean() < 6
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
        assert [float(f.pts * f.time_base) for f in c.decode(video=0)] == pytest.approx([i / 12 for i in range(10)], abs=1e-4)
    p = read_image(prev)
    assert p.shape == (3 * 48 + 2 * 4, 2 * 64 + 4, 3)  # 3 rows: original | stylized
    assert np.abs(p[:48, :64].astype(int) + p[:48, 68:] - 255).mean() < 8
    cap = capsys.readouterr()  # notes on stderr, the result line on stdout (as in every command)
    assert "using CPU" in cap.err and "wrote" in cap.out and "10 frames" in cap.out
    assert _clean(tmp_path, {"in.mp4", "out.mp4", "prev.png"})


def test_auto_device_reports_cpu_fallback(tmp_path: Path, invert: list[str], capsys) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: auto picks it")
    img = np.random.default_rng(0).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    assert main(["stylize", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png")]) == 0
    assert "falling back to CPU" in capsys.readouterr().err
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"), 255 - img)  # lossless PNG


def test_preserve_color_flag_reaches_the_stylizer(tmp_path: Path, invert: list[str]) -> None:
    """``--preserve-color``: the inverted image's luminance with the photo's own chroma."""
    from models.nets.color import preserve_color
    from models.io import to_tensor, to_uint8

    img = np.random.default_rng(1).integers(40, 216, (9, 11, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    assert _run(tmp_path / "a.png", "-o", tmp_path / "b.png", "--preserve-color", "--device", "cpu") == 0
    x = to_tensor([img], device="cpu", dtype=torch.float32)
    want = to_uint8(preserve_color(1.0 - x, x))[0]
    got = read_image(tmp_path / "b.png")
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    assert np.abs(got.astype(int) - (255 - img).astype(int)).mean() > 10  # not the plain inversion


def test_rotated_vfr_video_comes_out_upright_with_same_timestamps(tmp_path: Path, invert: list[str]) -> None:
    pts = [0, 40, 80, 200, 240, 500]
    src, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_video(src, n=6, rotation=90, pts=pts, time_base=Fraction(1, 1000), audio=None)
    assert _run(src, "-o", out, "--preset", "ultrafast") == 0
    assert b"cabac=0" in out.read_bytes()  # x264's settings SEI: ultrafast turns CABAC off
    with open_video(out) as r:
        assert (r.width, r.height, r.rotation, r.has_audio) == (48, 64, 0, False)
    with av.open(str(out)) as c:
        assert [float(f.pts * f.time_base) for f in c.decode(video=0)] == pytest.approx([p / 1000 for p in pts], abs=1e-4)


def test_max_side_downscales_to_even_size_and_no_audio_drops_it(tmp_path: Path, invert: list[str]) -> None:
    make_video(tmp_path / "in.mp4", n=3, width=65, height=47, pix_fmt="yuv444p", audio="aac")
    assert _run(tmp_path / "in.mp4", "-o", tmp_path / "o.mkv", "--max-side", 33, "--no-audio") == 0
    with open_video(tmp_path / "o.mkv") as r:
        assert (r.width, r.height, sum(1 for _ in r)) == (32, 24, 3)  # 33 is odd: the even size below it
        assert not r.has_audio


def test_sample_input(tmp_path: Path, invert: list[str]) -> None:
    assert _run("sample", "-o", tmp_path / "s.mp4") == 0
    with open_video(tmp_path / "s.mp4") as r:
        assert (r.width, r.height, r.fps, r.frame_count) == (320, 240, 24, 48)


def _bad_cases(tmp: Path) -> dict[str, tuple[list[object], str]]:
    make_video(tmp / "ok.mp4", n=3, audio=None)
    (tmp / "text.mp4").write_text("hello")
    make_audio_only(tmp / "audio.m4a")
    truncate(tmp / "ok.mp4", tmp / "cut.mp4", 0.5)
    write_image(tmp / "img.png", np.zeros((8, 8, 3), np.uint8))
    return {
        "missing": ([tmp / "nope.mp4", "-o", tmp / "o.mp4"], "input not found"),
        "not a video": ([tmp / "text.mp4", "-o", tmp / "o.mp4"], "cannot open"),
        "audio only": ([tmp / "audio.m4a", "-o", tmp / "o.mp4"], "no video stream"),
        "truncated": ([tmp / "cut.mp4", "-o", tmp / "o.mp4"], "cannot open"),
        "image to video": ([tmp / "img.png", "-o", tmp / "o.mp4"], "expected an image output"),
        "bad extension": ([tmp / "ok.mp4", "-o", tmp / "o.avi"], "unsupported output extension"),
        "no such dir": ([tmp / "ok.mp4", "-o", tmp / "d" / "o.mp4"], "output directory does not exist"),
        "overwrite input": ([tmp / "ok.mp4", "-o", tmp / "ok.mp4"], "overwrite the input"),
        "batch size": ([tmp / "ok.mp4", "-o", tmp / "o.mp4", "--batch-size", 0], "--batch-size: expected"),
        "bad preset": ([tmp / "ok.mp4", "-o", tmp / "o.mp4", "--preset", "warp9"], "--preset: expected one of"),
        "bad crf": ([tmp / "ok.mp4", "-o", tmp / "o.mp4", "--crf", 60], "--crf: expected an integer in [0, 51]"),
        "bad preview": ([tmp / "ok.mp4", "-o", tmp / "o.mp4", "--preview", tmp / "p.txt"], "unsupported output extension '.txt'"),
    }


def test_bad_inputs_give_one_line_error_and_no_output(tmp_path: Path, invert: list[str], capsys) -> None:
    for name, (argv, words) in _bad_cases(tmp_path).items():
        before = {p.name for p in tmp_path.iterdir()}
        capsys.readouterr()
        assert _run(*argv) == 2, name
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("stylecast stylize: error: ") and words in err[-1], (name, err)
        assert "Traceback" not in "\n".join(err)
        assert {p.name for p in tmp_path.iterdir()} == before, name
    assert invert == []  # every refusal happened before loading a style


def test_unknown_style_is_a_user_error(tmp_path: Path, capsys) -> None:
    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    assert _run(tmp_path / "a.png", "-s", "no_such_style_xyz", "-o", tmp_path / "b.png") == 2
    assert "no_such_style_xyz" in capsys.readouterr().err
    assert not (tmp_path / "b.png").exists()


def test_corrupt_stream_and_interrupt_leave_no_partial_file(tmp_path: Path, invert: list[str],
                                                            monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    make_corrupt_video(tmp_path / "full.mkv", tmp_path / "bad.mkv")
    assert _run(tmp_path / "bad.mkv", "-o", tmp_path / "o.mp4") == 2
    assert "cannot decode" in capsys.readouterr().err
    assert _clean(tmp_path, {"full.mkv", "bad.mkv"})

    calls = []

    def interrupting(name: str, *, device: torch.device, dtype: torch.dtype, preserve_color=None):  # type: ignore[no-untyped-def]
        def f(x: torch.Tensor) -> torch.Tensor:
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt
            return x
        return f

    monkeypatch.setattr(st, "load_style", interrupting)
    assert _run(tmp_path / "full.mkv", "-o", tmp_path / "o.mp4", "--batch-size", 4) == 130
    assert _clean(tmp_path, {"full.mkv", "bad.mkv"})


def test_library_with_a_real_pretrained_style_net(tmp_path: Path) -> None:
    sys.path.insert(0, str(shared_path("tools")))
    import reference_nets as rn

    net = rn.load_style_net(shared_path("weights", "fast_style", "udnie.safetensors")).eval()
    from models.io.sample import sample_frames
    frames = sample_frames(3, (64, 96))
    res = st.stylize_video(st.ArraySource(frames), tmp_path / "u.mp4", stylizer=net,
                           options=st.StylizeOptions(batch_size=2, progress=False))
    assert (res.frames, res.width, res.height) == (3, 96, 64)
    with open_video(res.output) as r:
        got = np.stack(list(r))
    with torch.inference_mode():
        ref = (net(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255).clamp(0, 1) * 255)
    ref = ref.permute(0, 2, 3, 1).numpy()
    # The written video is the network's output (up to coding loss), not the input.
    assert np.abs(got - ref).mean() < 8 < np.abs(got.astype(float) - frames).mean()


def test_real_video_keeps_frame_count_fps_and_audio(tmp_path: Path, invert: list[str]) -> None:
    src = shared_path("data", "video", "cockatoo_720p.mp4")
    out = tmp_path / "c.mp4"
    assert _run(src, "-o", out, "--max-side", 64, "--batch-size", 16) == 0
    with open_video(out) as r, open_video(src) as s:
        assert (r.width, r.height) == (64, 36)
        assert (r.frame_count, r.fps, r.has_audio) == (s.frame_count, s.fps, True) == (280, 20, True)
    with av.open(str(out)) as o, av.open(str(src)) as i:
        ai, ao = i.streams.audio[0], o.streams.audio[0]
        # cockatoo's audio is MP3: copied packets, so the same codec (decoder name mp3float)
        assert ao.codec_context.name == ai.codec_context.name == "mp3float" and ao.rate == ai.rate
        # copied packets: the same audio duration (to one packet)
        assert float(ao.duration * ao.time_base) == pytest.approx(float(ai.duration * ai.time_base), abs=0.05)


def test_real_checkpoint_through_the_registry(tmp_path: Path) -> None:
    """No injection: `-s checkpoint.safetensors` goes through models.styles.registry.load_stylizer."""
    from models.styles.checkpoint import make_metadata, save_style
    from models.nets.transformer import TransformerNet, preset

    torch.manual_seed(0)
    net = TransformerNet(preset("light")).eval()
    with torch.no_grad():  # an untrained net outputs ~0 (all clamped): centre and spread it
        vs = net.config.value_scale
        net.deconv3.conv2d.bias.fill_(0.5 * vs)
        net.deconv3.conv2d.weight.mul_(0.2 * vs)
    ckpt = save_style(tmp_path / "tiny.safetensors", net, make_metadata(name="tiny", preset="light"))
    img = np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", img)
    assert _run(tmp_path / "a.png", "-s", ckpt, "-o", tmp_path / "b.png") == 0
    with torch.inference_mode():
        ref = net(torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255)
    ref_u8 = (ref[0].clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
    got = read_image(tmp_path / "b.png")
    assert np.abs(got.astype(int) - ref_u8).max() <= 1  # same network, fp32, lossless PNG
    assert ref_u8.std() > 5 and np.abs(ref_u8.astype(int) - img).mean() > 5  # a non-trivial map
    assert np.abs(ref_u8.astype(int) - ref_u8[..., ::-1]).mean() > 1  # channel order matters


def test_sigterm_mid_run_exits_130_and_leaves_no_file(tmp_path: Path) -> None:
    import signal
    import subprocess
    import textwrap

    make_video(tmp_path / "in.mp4", n=12, audio="aac")
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from offline import stylize as st
        from models.cli import main
        def load(name, *, device, dtype, preserve_color=None):
            def f(x):
                print("batch", flush=True)
                time.sleep(0.5)
                return x
            return f
        st.load_style = load
        sys.exit(main(["stylize", sys.argv[1], "-o", sys.argv[2], "--device", "cpu", "--batch-size", "2"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "in.mp4"), str(tmp_path / "o.mp4")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "batch"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert _clean(tmp_path, {"in.mp4"})
