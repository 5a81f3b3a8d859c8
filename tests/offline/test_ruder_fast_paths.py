"""The CUDA speed paths of offline.ruder.optimize (channels_last loss-network input, TF32 Gram
matmuls) give the losses and gradients of the plain NCHW / fp32-Gram path; the TF32 switch
restores the global flag whatever happens; gram() does not depend on the memory layout."""
from __future__ import annotations

import contextlib
import os

import pytest
import torch

import offline.ruder.optimize as om
from models.losses.functional import gram
from offline.ruder.config import OptimConfig
from tests.conftest import TOL, shared_path


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_gram_is_layout_independent(dtype: torch.dtype) -> None:
    g = torch.Generator().manual_seed(0)
    f = torch.randn(2, 16, 9, 13, generator=g).to(dtype)
    nhwc = f.contiguous(memory_format=torch.channels_last)
    assert nhwc.is_contiguous(memory_format=torch.channels_last) and not nhwc.is_contiguous()
    fd = f.double().reshape(2, 16, -1)
    ref = fd @ fd.transpose(1, 2) / fd[0].numel()
    tol = TOL[torch.float32]  # gram() computes in float32 whatever the input's dtype
    for x in (f, nhwc):
        out = gram(x)
        assert out.shape == (2, 16, 16) and out.dtype == torch.float32
        torch.testing.assert_close(out.double(), ref, rtol=tol * 10, atol=tol)
    assert torch.equal(nhwc, f.contiguous(memory_format=torch.channels_last))  # input untouched


def test_tf32_switch_restores_the_flag() -> None:
    m = torch.backends.cuda.matmul
    before = m.fp32_precision
    with om.tf32_matmul(True):
        assert m.fp32_precision == "tf32"
    assert m.fp32_precision == before
    with pytest.raises(KeyError):
        with om.tf32_matmul(True):
            raise KeyError("boom")
    assert m.fp32_precision == before
    with om.tf32_matmul(False):
        assert m.fp32_precision == before


def _loss_net() -> torch.nn.Module:
    from models.losses.networks import build_loss_network

    w = os.environ.get("STYLECAST_VGG19_WEIGHTS") or str(shared_path("weights", "vgg19_imagenet_features.fp16.safetensors"))
    return build_loss_network("vgg19", weights=w)


@pytest.mark.cuda
def test_fast_paths_match_the_plain_path_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    net = _loss_net().cuda()
    g = torch.Generator().manual_seed(1)
    style, content, x0 = (torch.rand(1, 3, 96, 160, generator=g).cuda() for _ in range(3))

    def loss_and_grad(channels_last: bool, tf32: bool) -> tuple[float, torch.Tensor]:
        monkeypatch.setattr(om, "tf32_matmul", om.tf32_matmul if tf32 else (lambda enabled: contextlib.nullcontext()))
        cfg = OptimConfig(channels_last=channels_last, temporal_weight=0.0)
        opt = om.FrameOptimizer(net, style, cfg, style_taps=net.style_taps, content_tap=net.content_tap,
                                content_size=(96, 160))
        x = x0.clone().requires_grad_(True)
        with om.tf32_matmul(True):
            total, _ = opt._loss_tensors(x, opt.content_target(content), [])
            total.backward()
        return float(total.detach()), x.grad.detach().flatten()

    tf32 = om.tf32_matmul
    plain_loss, plain_grad = loss_and_grad(False, False)
    monkeypatch.setattr(om, "tf32_matmul", tf32)
    fast_loss, fast_grad = loss_and_grad(True, True)
    # Both run the network in bf16; what differs is the conv algorithms' rounding order.
    assert fast_loss == pytest.approx(plain_loss, rel=1e-2)
    cos = torch.nn.functional.cosine_similarity(fast_grad, plain_grad, dim=0)
    assert cos > 0.99, f"gradient direction differs: cosine {float(cos):.4f}"
    assert float(fast_grad.norm()) == pytest.approx(float(plain_grad.norm()), rel=2e-2)


def test_job_fingerprint_unchanged_by_the_speed_setting(tmp_path) -> None:
    """Jobs started before OptimConfig.channels_last existed still resume: the default is left
    out of the settings; a non-default value is a different job."""
    from dataclasses import replace

    from offline.ruder.pipeline import VideoSpec

    base = dict(input=str(tmp_path / "in.mp4"), output=str(tmp_path / "out.mp4"), method="ruder",
                style_image=str(tmp_path / "s.jpg"))
    spec = VideoSpec(**base)
    assert "channels_last" not in spec.settings()["cfg"]["optim"]
    assert "autocast" in spec.settings()["cfg"]["optim"]  # the other fields are still there
    nchw = VideoSpec(**base, ruder=replace(spec.ruder, optim=replace(spec.ruder.optim, channels_last=False)))
    assert nchw.settings()["cfg"]["optim"]["channels_last"] is False
