"""Conditional instance norm (Dumoulin et al. 2017): one-hot equals a single-style net, blends
interpolate gamma/beta, mix validation, checkpoints, registry specs, `stylecast live --mix`.

Tests build small networks in tmp_path; the ``bundled`` tests check the shipped ``multistyle`` net.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.styles import checkpoint as ckpt
from models.styles import registry
from models.errors import UserError
from models.nets.multistyle import ConditionalInstanceNorm2d, MixedStylizer, MultiStyleNet
from models.nets.mix import MixError, format_mix, mix_weights, parse_mix, sweep_weights
from models.nets.transformer import PRESETS, TransformerNet
from tests.multistyle_factory import random_net, save_net

ONE_HOT_TOL = 0.0  # fp32: CIN runs the same batch-norm kernel as nn.InstanceNorm2d with the same values
BLEND_TOL = 1e-5  # 0.5*a + 0.5*b vs (a+b)/2 may differ in the last bit; outputs on the [0,1] scale
FP16_TOL = 2e-2  # fp16 storage of a random net's weights (outputs in [0,1]); measured ~3e-3


def _copy_into_single(net: MultiStyleNet, k: int) -> TransformerNet:
    """A TransformerNet with ``net``'s convolutions and style ``k``'s IN affine parameters."""
    single = TransformerNet(net.config)
    sd = single.state_dict()
    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, ConditionalInstanceNorm2d):
                sd[f"{name}.weight"].copy_(m.weight[k])
                sd[f"{name}.bias"].copy_(m.bias[k])
        for key, v in net.state_dict().items():
            if "conv" in key:
                sd[key].copy_(v)
    single.load_state_dict(sd)
    return single.eval()


@pytest.mark.parametrize("preset", ["light", "standard"])
def test_one_hot_mix_equals_single_style_net(preset: str) -> None:
    net = random_net(("a", "b", "c"), preset=preset)
    x = torch.rand(2, 3, 37, 50)
    with torch.no_grad():
        for k, name in enumerate(net.style_names):
            ref = _copy_into_single(net, k)(x)
            torch.testing.assert_close(net.stylizer(name)(x), ref, atol=ONE_HOT_TOL, rtol=0)
            torch.testing.assert_close(net.member_net(name)(x), ref, atol=0, rtol=0)
    assert set(net.state_dict()) == set(TransformerNet(net.config).state_dict())  # same module names


def test_blend_averages_gamma_beta_and_output_differs_from_both_ends() -> None:
    net = random_net(("a", "b"))
    half = torch.tensor([[0.5, 0.5]])
    for m in net.modules():
        if isinstance(m, ConditionalInstanceNorm2d):
            gamma, beta = m.affine(half)
            torch.testing.assert_close(gamma[0], (m.weight[0] + m.weight[1]) / 2, atol=1e-6, rtol=0)
            torch.testing.assert_close(beta[0], (m.bias[0] + m.bias[1]) / 2, atol=1e-6, rtol=0)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        ya, yb, ymid = net.stylizer("a")(x), net.stylizer("b")(x), net.stylizer({"a": 1, "b": 1})(x)
    assert float((ymid - ya).abs().mean()) > 0.01 and float((ymid - yb).abs().mean()) > 0.01
    # and it equals a single-style net whose IN parameters are the averages
    avg = _copy_into_single(net, 0)
    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, ConditionalInstanceNorm2d):
                mod = avg.get_submodule(name)
                mod.weight.copy_(m.weight.mean(0))
                mod.bias.copy_(m.bias.mean(0))
        torch.testing.assert_close(ymid, avg(x), atol=BLEND_TOL, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_norm_keeps_fp32_statistics(dtype: torch.dtype) -> None:
    """On the 0..255 scale fp16 second moments overflow; the low-precision path must match fp32
    up to the input/output rounding (fp16: 2^-11, bf16: 2^-8 relative)."""
    torch.manual_seed(0)
    norm = ConditionalInstanceNorm2d(8, 3)
    with torch.no_grad():
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-30, 30)
    x = torch.randn(2, 8, 16, 16) * 300 + 100  # var ~ 9e4: x^2 exceeds fp16's 65504
    mix = torch.tensor([[0.2, 0.3, 0.5]])
    ref = norm(x, mix)
    low = norm.to(dtype)(x.to(dtype), mix.to(dtype)).float()
    assert torch.isfinite(low).all()
    tol = 0.05 if dtype == torch.float16 else 0.3  # normalised values are O(1) * gamma + beta(<=30)
    torch.testing.assert_close(low, ref, atol=tol, rtol=0.01)


def test_per_sample_mix_and_set_mix_in_place() -> None:
    net = random_net(("a", "b"))
    x = torch.rand(2, 3, 24, 24)
    with torch.no_grad():
        both = net(x, torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        torch.testing.assert_close(both[:1], net.stylizer("a")(x[:1]), atol=1e-6, rtol=0)
        torch.testing.assert_close(both[1:], net.stylizer("b")(x[1:]), atol=1e-6, rtol=0)
        s = net.stylizer("a")
        buf = s.mix.data_ptr()
        assert s.set_mix({"b": 2.0}) == (0.0, 1.0)
        assert s.mix.data_ptr() == buf  # same storage: compiled graphs keep seeing it
        torch.testing.assert_close(s(x), net.stylizer("b")(x), atol=0, rtol=0)
        s.set_mix(None)
        assert s.weights == (1.0, 0.0) and s.mix_dict() == {"a": 1.0}
    with pytest.raises(ValueError, match=r"expected shape \(1,2\) or \(2,2\)"):
        net(x, torch.ones(3, 2) / 2)


def test_mix_validation_errors() -> None:
    names = ("starry_night", "wave", "udnie")
    assert mix_weights({"wave": 3, "udnie": 1}, names) == (0.0, 0.75, 0.25)
    assert mix_weights([1, 1, 2], names) == (0.25, 0.25, 0.5)
    assert mix_weights(torch.tensor([0.0, 2.0, 0.0]), names) == (0.0, 1.0, 0.0)
    with pytest.raises(MixError, match=r"unknown style 'nope'; expected names from \['starry_night'"):
        mix_weights({"nope": 1}, names)
    with pytest.raises(MixError, match="weight of 'wave' must be finite and >= 0, got -0.5"):
        mix_weights({"wave": -0.5, "udnie": 1}, names)
    with pytest.raises(MixError, match="at least one positive weight"):
        mix_weights({"wave": 0}, names)
    with pytest.raises(MixError, match="expected 3 weights"):
        mix_weights([1, 2], names)
    with pytest.raises(MixError, match="must be finite"):
        mix_weights([float("nan"), 1, 1], names)
    with pytest.raises(MixError, match="must be a number"):
        mix_weights({"wave": "1"}, names)  # type: ignore[dict-item]
    assert isinstance(MixError("x"), UserError) and isinstance(MixError("x"), ValueError)


def test_mix_text_form_and_sweep() -> None:
    names = ("a", "b", "c")
    assert parse_mix("b", names) == (0.0, 1.0, 0.0)
    assert parse_mix("a=0.7, c=0.3", names) == pytest.approx((0.7, 0.0, 0.3))
    assert parse_mix(format_mix((0.7, 0.0, 0.3), names), names) == pytest.approx((0.7, 0.0, 0.3))
    for bad, msg in (("a=x", "must be a number"), ("a=1,a=2", "given twice"), ("=1", "name=weight"),
                     ("d", "unknown style 'd'"), ("", "expected a style name")):
        with pytest.raises(MixError, match=msg):
            parse_mix(bad, names)
    assert sweep_weights(["a", "c"], names, 0.0) == (1.0, 0.0, 0.0)
    assert sweep_weights(["a", "c"], names, 0.25) == pytest.approx((0.75, 0.0, 0.25))
    assert sweep_weights(["a", "c"], names, 1.5) == pytest.approx((0.5, 0.0, 0.5))  # back towards a
    assert sweep_weights(["a", "c"], names, 2.0) == (1.0, 0.0, 0.0)


def test_network_rejects_bad_style_names() -> None:
    with pytest.raises(ValueError, match="distinct"):
        MultiStyleNet(PRESETS["light"], style_names=("a", "a"))
    with pytest.raises(ValueError, match="without ':'"):
        MultiStyleNet(PRESETS["light"], style_names=("a:b", "c"))


@pytest.mark.parametrize("half,tol", [(False, 0.0), (True, FP16_TOL)])
def test_checkpoint_round_trip(tmp_path: Path, half: bool, tol: float) -> None:
    net = random_net(("a", "b"))
    path = save_net(net, tmp_path / "duo.safetensors", half=half)
    loaded, meta = ckpt.load_multistyle(path)
    assert loaded.style_names == ("a", "b") and meta["kind"] == "multistyle" and meta["format_version"] == 2
    assert meta["dtype"] == ("float16" if half else "float32")
    assert [s["description"] for s in meta["styles"]] == ["style a", "style b"]
    assert not loaded.training and not any(p.requires_grad for p in loaded.parameters())
    x = torch.rand(1, 3, 40, 48)
    with torch.no_grad():
        for mix in ("a", "b", {"a": 0.3, "b": 0.7}):
            torch.testing.assert_close(loaded.stylizer(mix)(x), net.stylizer(mix)(x), atol=tol, rtol=0)
    with pytest.raises(UserError, match="multi-style network with styles"):
        ckpt.load_style(path)
    single = tmp_path / "single.safetensors"
    ckpt.save_style(single, TransformerNet(PRESETS["light"]), ckpt.make_metadata(name="s", preset="light"))
    with pytest.raises(UserError, match="single-style checkpoint"):
        ckpt.load_multistyle(single)


@pytest.fixture()
def user_net(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MultiStyleNet:
    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(tmp_path / "styles"))
    net = random_net(("starry", "wave"))
    save_net(net, tmp_path / "styles" / "duo.safetensors", half=False)
    return net


def test_registry_lists_members_and_loads_specs(user_net: MultiStyleNet, tmp_path: Path) -> None:
    entries = {e.name: e for e in registry.list_styles()}
    assert entries["duo:wave"].network == "duo" and entries["duo:wave"].members == ("starry", "wave")
    assert entries["duo:wave"].member == "wave" and entries["duo:wave"].description == "style wave"
    assert registry.DEFAULT_STYLE in entries and entries[registry.DEFAULT_STYLE].network == ""  # singles unchanged
    x = torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        s = registry.load_stylizer("duo:wave")
        assert isinstance(s, MixedStylizer) and next(s.parameters()).dtype == torch.float32
        torch.testing.assert_close(s(x), user_net.stylizer("wave")(x), atol=0, rtol=0)
        blend = registry.load_stylizer("duo:starry=0.7,wave=0.3")
        torch.testing.assert_close(blend(x), user_net.stylizer({"starry": 0.7, "wave": 0.3})(x), atol=1e-6, rtol=0)
        by_path = registry.load_stylizer(f"{tmp_path / 'styles' / 'duo.safetensors'}:wave", dtype=torch.float64)
        assert next(by_path.parameters()).dtype == torch.float64
    assert registry.resolve_style("duo:wave") == tmp_path / "styles" / "duo.safetensors"
    assert registry.style_metadata("duo")["kind"] == "multistyle"
    with pytest.raises(UserError, match=r"multi-style network with styles \['starry', 'wave'\]: expected duo:starry"):
        registry.load_stylizer("duo")
    with pytest.raises(UserError, match="unknown style 'nope'"):
        registry.load_stylizer("duo:nope")
    with pytest.raises(UserError, match=r"unknown style 'other:wave'.*duo:wave"):
        registry.load_stylizer("other:wave")
    with pytest.raises(UserError, match="is a single style"):
        registry.load_stylizer(f"{registry.DEFAULT_STYLE}:wave")


def test_cli_styles_lists_members(user_net: MultiStyleNet, capsys: pytest.CaptureFixture[str]) -> None:
    from models.cli import main

    assert main(["styles"]) == 0
    out = capsys.readouterr().out
    assert "duo:starry" in out and "duo:wave" in out and "duo: multi-style network (2 styles)" in out


def test_cli_live_with_mix_and_sweep_on_sample(user_net: MultiStyleNet, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from models.cli import main
    from models.io import open_video

    out = tmp_path / "live.mp4"
    args = ["live", "--source", "sample", "--sink", str(out), "--max-frames", "3", "--max-side", "48", "--device", "cpu"]
    assert main([*args, "-s", "duo", "--mix", "starry=0.7,wave=0.3"]) == 0
    assert "style blend: starry 70%, wave 30%" in capsys.readouterr().out
    with open_video(out) as r:
        assert sum(1 for _ in r) == 3
    assert main([*args, "-s", "duo:wave", "--sweep", "starry,wave", "--sweep-seconds", "0.05", "--no-temporal"]) == 0
    assert main([*args, "-s", registry.DEFAULT_STYLE, "--mix", "a=1"]) == 2
    assert "expected -s to name a multi-style network" in capsys.readouterr().err
    assert main([*args, "-s", "duo", "--mix", "starry=-1"]) == 2
    assert ">= 0" in capsys.readouterr().err


def _bundled_networks() -> list[str]:
    return sorted({e.network for e in registry.list_styles() if e.network and e.source == "bundled"})


def test_bundled_multistyle_networks_load_and_blend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(tmp_path / "none"))
    nets = _bundled_networks()
    assert nets == ["multistyle"]  # the package ships one; losing it is a packaging bug
    x = torch.rand(1, 3, 48, 64)
    for name in nets:
        meta = registry.style_metadata(name)
        members = [s["name"] for s in meta["styles"]]
        assert meta["dtype"] == "float16" and meta["license"] and all(s["license"] for s in meta["styles"])
        net = registry.load_network(name)
        outs = {}
        with torch.no_grad():
            for m in members[:2]:
                outs[m] = registry.load_stylizer(f"{name}:{m}")(x)
                assert float((outs[m] - x).abs().mean()) > 0.03  # it stylizes
            a, b = members[:2]
            mid = net.stylizer({a: 0.5, b: 0.5})(x)
        assert float((outs[a] - outs[b]).abs().mean()) > 0.01  # members differ
        assert float((mid - outs[a]).abs().mean()) > 0.003 and float((mid - outs[b]).abs().mean()) > 0.003


def test_changing_the_mix_does_not_recompile() -> None:
    """torch.compile traces the stylizer once; set_mix between calls reuses the graph (the mix
    is a buffer read at run time, updated in place) and the output follows the new mix."""
    import torch._dynamo

    net = random_net(("a", "b"))
    s = net.stylizer("a")
    compiles: list[int] = []

    def counting_backend(gm, example_inputs):  # type: ignore[no-untyped-def]
        compiles.append(1)
        return gm.forward

    torch._dynamo.reset()
    fn = torch.compile(s, backend=counting_backend)
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        ya = fn(x)
        s.set_mix({"a": 0.5, "b": 0.5})
        ymid = fn(x)
        s.set_mix("b")
        yb = fn(x)
        torch.testing.assert_close(ymid, net.stylizer({"a": 1, "b": 1})(x), atol=1e-6, rtol=0)
        torch.testing.assert_close(yb, net.stylizer("b")(x), atol=1e-6, rtol=0)
    assert float((ya - yb).abs().mean()) > 0.01
    assert len(compiles) == 1, f"recompiled {len(compiles) - 1} times"
    torch._dynamo.reset()
