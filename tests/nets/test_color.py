"""Colour preservation (models.nets.color; Gatys et al. 2016 luminance-only transfer) and how styles ask for it."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.styles import checkpoint as ckpt
from models.styles import registry
from models.nets.color import ColorPreserving, preserve_color, rgb_to_yiq, yiq_to_rgb
from models.errors import UserError
from models.nets.multistyle import MultiStyleNet
from models.nets.transformer import PRESETS, TransformerNet
from tests.conftest import TOL, device_dtype_matrix, shared_path

MATRIX = device_dtype_matrix() + [("cpu", torch.float16)]


def _tol(dtype: torch.dtype) -> float:
    return max(TOL[dtype], 1e-6)


@pytest.mark.parametrize(("device", "dtype"), MATRIX)
def test_yiq_known_values_and_round_trip(device: str, dtype: torch.dtype) -> None:
    # Primaries and greys (NTSC coefficients): Y is the Rec.601 luma, greys have no chroma.
    rgb = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1], [0.5, 0.5, 0.5]], dtype=dtype, device=device)
    x = rgb.T.reshape(1, 3, 1, 5)
    yiq = rgb_to_yiq(x)[0, :, 0].T.double().cpu()
    want = torch.tensor([[0.299, 0.595716, 0.211456], [0.587, -0.274453, -0.522591], [0.114, -0.321263, 0.311135],
                         [1.0, 0.0, 0.0], [0.5, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(yiq, want, atol=3 * _tol(dtype))
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(2, 3, 7, 9, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    back = yiq_to_rgb(rgb_to_yiq(frames))
    assert back.dtype == dtype and back.device.type == device
    assert float((back - frames).abs().max()) <= 4 * _tol(dtype)


@pytest.mark.parametrize(("device", "dtype"), MATRIX)
def test_grey_stylizer_gets_the_photos_colours_back(device: str, dtype: torch.dtype) -> None:
    """A stylizer that keeps the luminance but drops all colour: with amount 1 the photo comes back
    exactly (its colours are in-gamut); with 0 the grey output is returned unchanged; in between,
    chroma is interpolated linearly."""
    g = torch.Generator().manual_seed(1)
    photo = torch.rand(2, 3, 6, 10, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)
    grey = rgb_to_yiq(photo)[:, :1].expand(-1, 3, -1, -1).clamp(0, 1)
    before = (photo.clone(), grey.clone())
    out = preserve_color(grey, photo, amount=1.0)
    assert out.dtype == dtype and out.shape == photo.shape
    assert float((out - photo).abs().max()) <= 4 * _tol(dtype)
    assert torch.equal(preserve_color(grey, photo, amount=0.0), grey)
    half = rgb_to_yiq(preserve_color(grey, photo, amount=0.5))
    want = rgb_to_yiq(photo)[:, 1:] * 0.5
    inside = ((photo > 0.2) & (photo < 0.8)).all(1, keepdim=True).expand(-1, 2, -1, -1)  # no clipping there
    assert float((half[:, 1:] - want)[inside].abs().max()) <= 8 * _tol(dtype)
    assert torch.equal(photo, before[0]) and torch.equal(grey, before[1])  # callers' tensors untouched


def test_luminance_comes_from_the_stylized_frame() -> None:
    g = torch.Generator().manual_seed(2)
    photo = 0.25 + 0.5 * torch.rand(1, 3, 8, 8, generator=g)
    stylized = 0.25 + 0.5 * torch.rand(1, 3, 8, 8, generator=g)
    out = preserve_color(stylized, photo)
    y_out, y_sty, y_pho = rgb_to_yiq(out)[:, 0], rgb_to_yiq(stylized)[:, 0], rgb_to_yiq(photo)[:, 0]
    inside = ((out > 0) & (out < 1)).all(1)
    assert torch.allclose(y_out[inside], y_sty[inside], atol=1e-5)
    assert float((y_out - y_pho).abs().mean()) > 0.05  # not simply the photo
    assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_bad_inputs_name_the_shapes() -> None:
    a = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match=r"content: expected shape \(N,3,H,W\) matching \(1, 3, 8, 8\) in W, got \(1, 3, 8, 9\)"):
        preserve_color(a, torch.rand(1, 3, 8, 9))
    with pytest.raises(ValueError, match=r"stylized: expected shape \(N,3,H,W\), got \(3, 8, 8\)"):
        preserve_color(a[0], a)
    with pytest.raises(ValueError, match="amount"):
        preserve_color(a, a, amount=1.5)
    with pytest.raises(ValueError, match="amount"):
        ColorPreserving(lambda t: t, amount=0.0)


def test_wrapper_forwards_the_inner_stylizers_attributes() -> None:
    """A wrapped multi-style blend still switches live (set_mix) and converts with .half()."""
    torch.manual_seed(0)
    net = MultiStyleNet(PRESETS["light"], style_names=("a", "b")).eval()
    inner = net.stylizer("a")
    wrapped = ColorPreserving(inner)
    assert wrapped.style_names == ("a", "b") and wrapped.config == PRESETS["light"]
    wrapped.set_mix({"a": 0.25, "b": 0.75})
    assert inner.mix_dict() == pytest.approx({"a": 0.25, "b": 0.75})
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(wrapped(x), preserve_color(inner(x), x), atol=1e-6)
    wrapped.half()
    assert all(p.dtype == torch.float16 for p in net.parameters())
    with pytest.raises(AttributeError):
        _ = wrapped.no_such_attribute


@pytest.fixture()
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "styles"
    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(d))
    torch.manual_seed(0)
    net = TransformerNet(PRESETS["light"])
    ckpt.save_style(d / "keeps.safetensors", net, {**ckpt.make_metadata(name="keeps", preset="light"),
                                                    "preserve_color": 0.75})
    ckpt.save_style(d / "plain.safetensors", net, ckpt.make_metadata(name="plain", preset="light"))
    ckpt.save_style(d / "bad.safetensors", net, {**ckpt.make_metadata(name="bad", preset="light"),
                                                 "preserve_color": "lots"})
    return d


def test_style_file_asks_for_colour_preservation_and_callers_override(user_dir: Path) -> None:
    keeps = registry.load_stylizer("keeps")
    assert isinstance(keeps, ColorPreserving) and keeps.amount == 0.75
    assert isinstance(registry.load_stylizer("keeps", preserve_color=0), TransformerNet)
    assert isinstance(registry.load_stylizer("plain"), TransformerNet)
    forced = registry.load_stylizer("plain", preserve_color=1.0)
    assert isinstance(forced, ColorPreserving) and forced.amount == 1.0
    entries = {e.name: e for e in registry.list_styles()}
    assert entries["keeps"].preserve_color == 0.75 and entries["plain"].preserve_color == 0.0
    with pytest.raises(UserError, match=r"bad.safetensors: metadata preserve_color: expected a number in \[0, 1\]"):
        registry.load_stylizer("bad")
    with pytest.raises(UserError, match="preserve_color"):
        registry.load_stylizer("plain", preserve_color=2.0)


def test_cli_flag_and_listing(user_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from models.cli import main

    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    assert "photo 75%" in out and "COLOURS" in out
    with pytest.raises(SystemExit):
        main(["stylize", "sample", "-o", str(tmp_path / "x.png"), "--preserve-color", "2"])
    assert "expected a number in [0, 1], got '2'" in capsys.readouterr().err
    # optimization methods have no network to wrap: refused, not silently ignored
    assert main(["video", str(tmp_path / "in.mp4"), "-o", str(tmp_path / "o.mp4"), "--method", "ruder",
                 "--style-image", str(tmp_path / "s.jpg"), "--preserve-color"]) == 2
    assert "--preserve-color: expected --method fast" in capsys.readouterr().err


def test_bundled_udnie_keeps_the_photos_colours() -> None:
    """The shipped udnie renders with the photo's chroma: its I/Q channels follow the photo's
    (the network alone turns the red bridge grey-blue), its luminance is the network's."""
    from models.io import read_image, to_tensor

    photo = to_tensor([read_image(shared_path("data", "content", "golden_gate.jpg"))], device="cpu",
                      dtype=torch.float32)
    photo = torch.nn.functional.interpolate(photo, size=(120, 160), mode="area")
    assert registry.style_metadata("udnie")["preserve_color"] == 1.0
    model = registry.load_stylizer("udnie")
    raw = registry.load_stylizer("udnie", preserve_color=0)
    with torch.no_grad():
        out, plain = model(photo), raw(photo)
    iq_photo, iq_out, iq_plain = (rgb_to_yiq(t)[:, 1:] for t in (photo, out, plain))
    err_out = float((iq_out - iq_photo).abs().mean())
    err_plain = float((iq_plain - iq_photo).abs().mean())
    assert err_out < 0.01 < err_plain / 2, (err_out, err_plain)
    assert float((rgb_to_yiq(out)[:, 0] - rgb_to_yiq(plain)[:, 0]).abs().mean()) < 0.01


def test_video_job_fingerprint_includes_an_explicit_colour_setting(tmp_path: Path) -> None:
    """`stylecast video --method fast --preserve-color`: a resumed job with another setting is a
    different job; without the flag the fingerprint is what older jobs have (they still resume)."""
    from offline.ruder.pipeline import VideoSpec

    base = dict(input=str(tmp_path / "in.mp4"), output=str(tmp_path / "out.mp4"), method="fast", style="udnie")
    assert "preserve_color" not in VideoSpec(**base).settings()
    assert VideoSpec(**base, preserve_color=0.0).settings()["preserve_color"] == 0.0
    assert VideoSpec(**base, preserve_color=1.0).settings() != VideoSpec(**base, preserve_color=0.5).settings()


def test_server_catalog_applies_file_setting_and_server_override() -> None:
    """`stylecast serve`: udnie keeps the photo's colours as its file says; --preserve-color
    applies to every style, multi-style members included (which still blend live)."""
    from stream.server.styles import registry_catalog

    default = registry_catalog()
    assert isinstance(default.factory("udnie"), ColorPreserving)
    assert not isinstance(default.factory("wave"), ColorPreserving)
    assert not isinstance(default.factory("multistyle:wave"), ColorPreserving)
    forced = registry_catalog(preserve_color=1.0)
    member = forced.factory("multistyle:wave")
    assert isinstance(member, ColorPreserving) and isinstance(forced.factory("wave"), ColorPreserving)
    member.set_mix({"wave": 0.5, "udnie": 0.5})
    assert member.mix_dict()["udnie"] == pytest.approx(0.5)
    assert not isinstance(registry_catalog(preserve_color=0.0).factory("udnie"), ColorPreserving)


def test_wrapped_style_exports_to_onnx_with_dynamic_batch_and_size(tmp_path: Path) -> None:
    """The backends export the stylizer they are given (ONNX for onnxruntime / trtexec): the colour
    wrapper must keep batch and size symbolic (with einsum the exported batch was pinned to 1)."""
    from models.backends.onnx_export import describe_onnx, export_onnx, onnx_unavailable_reason, run_onnxruntime

    if onnx_unavailable_reason():
        pytest.skip(onnx_unavailable_reason())
    torch.manual_seed(0)
    model = ColorPreserving(TransformerNet(PRESETS["light"]).eval()).eval()
    path = export_onnx(model, tmp_path / "c.onnx", height=64, width=96)
    assert describe_onnx(path)["inputs"]["frames"] == ["batch", 3, "4*h4", "4*w4"]
    x = torch.rand(3, 3, 40, 56)
    with torch.no_grad():
        torch.testing.assert_close(run_onnxruntime(path, x), model(x), atol=1e-5, rtol=0)
