"""The row-split last layer (models.backends.splitconv): the same function as the stock layer, on
random layers at odd sizes and on a bundled network on a real photo; where make_spec turns it on."""
from __future__ import annotations

import pytest
import torch

from models.backends import build_backend, make_spec
from models.backends.eager import is_reference
from models.backends.parity import parity_input, psnr
from models.backends.splitconv import SplitKernelConv, qualifies, with_split_convs
from models.backends.synthetic import synthetic_style_net
from models.nets.transformer import ConvLayer


def _layer(cin: int, cout: int, k: int, seed: int, **kw) -> ConvLayer:
    torch.manual_seed(seed)
    layer = ConvLayer(cin, cout, k, **kw).eval()
    with torch.no_grad():  # the network's 0..255 scale: biases and outputs in the hundreds
        layer.conv2d.bias.uniform_(-100, 100)
    return layer


@pytest.mark.parametrize("cin,cout,k,shape", [(16, 3, 9, (2, 16, 23, 37)), (5, 1, 5, (1, 5, 6, 9)),
                                              (8, 4, 7, (1, 8, 31, 8))])
def test_same_function_as_the_stock_layer_fp32(cin, cout, k, shape) -> None:
    layer = _layer(cin, cout, k, seed=cin + k)
    x = torch.rand(shape) * 255
    with torch.no_grad():
        want = layer(x)
        got = SplitKernelConv(layer)(x)
    assert got.shape == want.shape and got.dtype == torch.float32
    # only the summation order differs: fp32 rounding, relative to outputs of ~100s
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-3)


def test_which_layers_qualify_and_the_copy() -> None:
    assert qualifies(_layer(16, 3, 9, 0))
    assert qualifies(_layer(16, 4, 5, 0))
    assert not qualifies(_layer(16, 8, 9, 0))   # 8+ outputs: the split would cost more than it saves
    assert not qualifies(_layer(16, 3, 3, 0))   # small kernel
    assert not qualifies(_layer(16, 3, 9, 0, stride=2))
    assert not qualifies(_layer(16, 3, 9, 0, upsample=2))
    assert not qualifies(torch.nn.Conv2d(16, 3, 9))
    with pytest.raises(ValueError, match="expected a stride-1"):
        SplitKernelConv(_layer(16, 16, 3, 0))
    net = synthetic_style_net("light", seed=1)
    split = with_split_convs(net)
    changed = [n for n, m in split.named_modules() if isinstance(m, SplitKernelConv)]
    assert changed == ["deconv3"]  # the 9x9 conv with 3 outputs; conv1 has 16 outputs
    assert isinstance(net.deconv3, ConvLayer)  # the caller's module is untouched


def test_whole_network_on_a_real_photo_fp32_and_bf16() -> None:
    from tests.conftest import shared_path
    from models.io.image import read_image
    from models.styles.registry import load_stylizer

    img = read_image(shared_path("data", "content", "chicago.jpg"))
    x = torch.from_numpy(img[:240, :320].copy()).permute(2, 0, 1)[None].float() / 255
    net = load_stylizer("starry_night", device="cpu").float().eval()
    with torch.no_grad():
        want = net(x)
        got = with_split_convs(net)(x)
        assert (got - want).abs().max().item() < 1e-5
        # bf16 channels_last, as the CPU compile runs it: the shifted sum accumulates in fp32
        spec = make_spec(device="cpu", height=240, width=320, dtype=torch.bfloat16)
        assert spec.split_convs and spec.channels_last and spec.fast_norm
        stock = build_backend(net, kind="eager", device="cpu", height=240, width=320, dtype=torch.bfloat16,
                              split_convs=False)
        ours = build_backend(net, kind="eager", device="cpu", height=240, width=320, dtype=torch.bfloat16)
        assert "split_convs" in ours.name and "split_convs" not in stock.name
        p_stock, p_ours = psnr(stock(x).float(), want), psnr(ours(x).float(), want)
    assert p_ours >= 40.0 and p_ours >= p_stock - 0.5, (p_ours, p_stock)


def test_spec_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STYLECAST_SPLIT_CONVS", raising=False)
    cpu_bf16 = make_spec(device="cpu", height=8, width=8, dtype=torch.bfloat16)
    assert cpu_bf16.split_convs and "split_convs" in cpu_bf16.tag() and not is_reference(cpu_bf16)
    assert not make_spec(device="cpu", height=8, width=8).split_convs  # fp32 eager: ~3 %, left alone
    assert not make_spec(device="cuda:0", height=8, width=8, dtype=torch.float16).split_convs  # unmeasured
    assert make_spec(device="cpu", height=8, width=8, split_convs=True).split_convs
    monkeypatch.setenv("STYLECAST_SPLIT_CONVS", "0")
    assert not make_spec(device="cpu", height=8, width=8, dtype=torch.bfloat16).split_convs


def test_parity_reference_is_the_stock_network() -> None:
    net = synthetic_style_net("light", seed=2)
    x = parity_input(1, 40, 56, seed=2)
    b = build_backend(net, kind="eager", device="cpu", height=40, width=56, split_convs=True)
    assert b.parity is not None and b.parity.passed and b.parity.max_abs < 1e-4
    with torch.no_grad():
        torch.testing.assert_close(b(x), net(x), rtol=0, atol=1e-5)


def test_cpu_compile_asks_inductor_for_its_cpp_wrapper() -> None:
    """The CPU build runs the whole forward in Inductor's C++ wrapper (one call, GIL released);
    CUDA and explicit modes keep torch.compile's mode argument (it cannot take both)."""
    from functools import partial

    from models.backends import compiled

    calls: list[dict] = []

    def recording(module, **kw):
        calls.append(kw)
        return module

    net = synthetic_style_net("light", seed=1)
    for mode in ("default", "reduce-overhead"):
        build_backend(net, kind="compile", device="cpu", height=16, width=24, cpu_compile=True, compile_mode=mode,
                      builders={"compile": partial(compiled.build, compiler=recording)})
    assert calls[0] == {"mode": None, "fullgraph": True, "dynamic": False, "options": {"cpp_wrapper": True}}
    assert calls[1] == {"mode": "reduce-overhead", "fullgraph": True, "dynamic": False}


def test_cpu_compile_falls_back_to_the_python_wrapper() -> None:
    from functools import partial

    from models.backends import compiled

    def no_cpp_wrapper(module, **kw):
        if "options" in kw:
            raise RuntimeError("fake: cpp_wrapper build failed")
        return module

    net = synthetic_style_net("light", seed=1)
    b = build_backend(net, kind="compile", device="cpu", height=16, width=24, cpu_compile=True, compile_mode="default",
                      builders={"compile": partial(compiled.build, compiler=no_cpp_wrapper)})
    assert b.kind == "compile" and b.parity.passed
    assert "C++ wrapper failed (torch.compile failed: RuntimeError: fake: cpp_wrapper build failed); Python wrapper" in b.describe()
