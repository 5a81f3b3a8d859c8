"""The torch optical flow (models.flow.torch_dis) and the live blender's torch flow path: known
motions of a real photo, Sintel EPE against DIS, device x dtype, contracts, no host round trip."""
from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.flow.estimators import DISConfig, DISFlow
from models.flow.torch_dis import TorchFlow, TorchFlowConfig
from models.temporal.blender import TemporalBlender, TemporalConfig
from models.flow.warp import _base_grid, warp
from tests.conftest import device_dtype_matrix, shared_path

ROOT = Path(__file__).resolve().parents[2]


def _photo() -> torch.Tensor:
    """The Golden Gate photo of docs/gallery.jpg (in the repo: no shared data needed), 144x416."""
    img = cv2.cvtColor(cv2.imread(str(ROOT / "docs" / "gallery.jpg")), cv2.COLOR_BGR2RGB)[2:146, 152:568]
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float() / 255.0


def _moved(a: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """b with b[x] = a[x + flow(x)]: so the flow b->a is exactly ``flow``."""
    return warp(a, flow, mode="bicubic").clamp(0, 1)


def _inner_epe(est: torch.Tensor, gt: torch.Tensor, m: int = 16) -> float:
    return float(torch.linalg.vector_norm(est - gt, dim=1)[..., m:-m, m:-m].mean())


def test_translation_of_a_real_photo() -> None:
    a = _photo()
    gt = torch.zeros(1, 2, *a.shape[-2:])
    gt[:, 0], gt[:, 1] = 3.5, -2.25
    b = _moved(a, gt)
    est = TorchFlow()(b, a)
    assert est.shape == gt.shape and est.dtype == torch.float32
    assert _inner_epe(est, gt) < 0.3  # measured 0.15 (DIS fast 0.33); zero flow 4.2
    # convention shared with DISFlow: warp(frame_b, flow a->b) ~= frame_a
    assert (warp(a, est) - b)[..., 16:-16, 16:-16].abs().mean() < 0.25 * (a - b)[..., 16:-16, 16:-16].abs().mean()


def test_affine_motion_of_a_real_photo() -> None:
    """Rotation by 2 degrees and 3 % zoom about the centre plus a shift: a non-uniform field."""
    a = _photo()
    h, w = a.shape[-2:]
    xy = _base_grid(h, w, torch.device("cpu"))
    c = torch.tensor([(w - 1) / 2, (h - 1) / 2]).view(1, 2, 1, 1)
    th, s = math.radians(2.0), 1.03
    m = torch.tensor([[s * math.cos(th) - 1, -s * math.sin(th)], [s * math.sin(th), s * math.cos(th) - 1]])
    gt = torch.einsum("ij,njhw->nihw", m, xy - c) + torch.tensor([1.5, 0.5]).view(1, 2, 1, 1)
    b = _moved(a, gt)
    est = TorchFlow()(b, a)
    dis = DISFlow(DISConfig())(b, a)
    zero = _inner_epe(torch.zeros_like(gt), gt)
    assert _inner_epe(est, gt) < 0.5 and _inner_epe(est, gt) < 0.15 * zero  # measured 0.21 (DIS 0.41), zero flow 5.0
    assert _inner_epe(est, gt) < 1.3 * _inner_epe(dis, gt)


def test_sintel_epe_within_bound_of_dis() -> None:
    """alley_1 clean 2->3 at the live settings: measured 0.92 px vs DIS fast 1.27 (docs/bench/live.md 2b)."""
    from models.flow.files import read_flo, valid_mask

    d = shared_path("data", "flow", "sintel", "alley_1")
    a, b = (torch.from_numpy(cv2.cvtColor(cv2.imread(str(d / "clean" / f)), cv2.COLOR_BGR2RGB)).permute(2, 0, 1)[None].float() / 255
            for f in ("frame_0002.png", "frame_0003.png"))
    gt = read_flo(d / "flow" / "frame_0002.flo")
    ok = valid_mask(gt)

    def epe(flow: torch.Tensor) -> float:
        return float(np.linalg.norm(flow[0].permute(1, 2, 0).numpy() - gt, axis=-1)[ok].mean())

    ours, dis = epe(TorchFlow()(a, b)), epe(DISFlow(DISConfig())(a, b))
    assert ours <= 1.3 * dis and ours < 1.1


@pytest.mark.parametrize("device,dtype", device_dtype_matrix())
def test_device_dtype_matrix(device: str, dtype: torch.dtype) -> None:
    """Any float frames on any device: float32 flow on that device, same field as fp32 CPU
    (fp16 frames quantise the grey image, so a looser tolerance there)."""
    a = _photo()
    gt = torch.zeros(1, 2, *a.shape[-2:])
    gt[:, 0] = 2.0
    b = _moved(a, gt)
    ref = TorchFlow()(b, a)
    est = TorchFlow()(b.to(device, dtype), a.to(device, dtype))
    assert est.dtype == torch.float32 and est.device.type == device
    tol = 0.05 if dtype == torch.float16 else 1e-3
    assert (est.cpu() - ref).abs().mean() < tol


def test_batch_and_grey_inputs() -> None:
    a = _photo()
    gt = torch.zeros(1, 2, *a.shape[-2:])
    gt[:, 0] = -1.5
    b = _moved(a, gt)
    tf = TorchFlow()
    one = tf(b, a)
    both = tf(torch.cat((b, a)), torch.cat((a, b)))  # pairs are independent
    torch.testing.assert_close(both[:1], one, atol=1e-4, rtol=0)
    assert _inner_epe(both[1:], -gt) < 0.3
    grey = 0.299 * b[:, :1] + 0.587 * b[:, 1:2] + 0.114 * b[:, 2:]
    grey_a = 0.299 * a[:, :1] + 0.587 * a[:, 1:2] + 0.114 * a[:, 2:]
    torch.testing.assert_close(tf(grey, grey_a), one, atol=1e-4, rtol=0)


def test_contract_errors() -> None:
    tf = TorchFlow(TorchFlowConfig(max_side=64))
    a = torch.rand(1, 3, 32, 48)
    with pytest.raises(ValueError, match=r"expected shape \(N,3,H,W\) or \(N,1,H,W\), got \(1, 2, 32, 48\)"):
        tf(torch.rand(1, 2, 32, 48), a)
    with pytest.raises(ValueError, match="frame_b: expected shape"):
        tf(a, torch.rand(1, 3, 32, 40))
    with pytest.raises(TypeError, match="frame_a: expected a torch.Tensor"):
        tf(np.zeros((1, 3, 32, 48)), a)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected dtype"):
        tf((a * 255).to(torch.uint8), a)
    with pytest.raises(ValueError, match="patch_stride"):
        TorchFlowConfig(patch_stride=16)
    with pytest.raises(ValueError, match="median must be 0 or odd"):
        TorchFlowConfig(median=4)
    with pytest.raises(ValueError, match="max_side"):
        TorchFlowConfig(max_side=8)
    # tiny frames (smaller than a patch) still give a flow of the right shape
    assert tf(torch.rand(1, 3, 5, 7), torch.rand(1, 3, 5, 7)).shape == (1, 2, 5, 7)


def _pan(n: int = 4) -> list[torch.Tensor]:
    a = _photo()
    out = []
    for i in range(n):
        f = torch.zeros(1, 2, *a.shape[-2:])
        f[:, 0] = 1.5 * i
        out.append(_moved(a, f))
    return out


def test_blender_flow_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = torch.rand(1, 3, 16, 16)
    monkeypatch.delenv("STYLECAST_FLOW", raising=False)
    assert not TemporalBlender().uses_torch_flow(frame)  # auto on the CPU: OpenCV DIS
    assert TemporalBlender(TemporalConfig(flow="torch")).uses_torch_flow(frame)
    assert not TemporalBlender(TemporalConfig(flow="dis")).uses_torch_flow(frame)
    monkeypatch.setenv("STYLECAST_FLOW", "torch")
    assert TemporalBlender().uses_torch_flow(frame)
    assert not TemporalBlender(TemporalConfig(flow="dis")).uses_torch_flow(frame)  # explicit wins
    monkeypatch.setenv("STYLECAST_FLOW", "raft")
    with pytest.raises(ValueError, match="STYLECAST_FLOW must be one of"):
        TemporalBlender()
    with pytest.raises(ValueError, match="flow must be one of"):
        TemporalConfig(flow="raft")


def test_blender_torch_path_matches_dis_path_on_a_pan() -> None:
    """Both flows give a near-full confidence on a clean pan and near-identical blends."""
    frames = _pan()
    styl = [f.flip(1) for f in frames]  # any per-frame "stylization" that moves with the content
    outs = {}
    for flow in ("dis", "torch"):
        b = TemporalBlender(TemporalConfig(flow=flow))
        outs[flow] = [b(f, s) for f, s in zip(frames, styl)]
        assert float(b.last_confidence[..., 16:-16, 16:-16].mean()) > 0.9
    diff = (outs["torch"][-1] - outs["dis"][-1])[..., 16:-16, 16:-16].abs().mean()
    assert diff < 0.01


def test_blender_torch_path_never_reads_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The torch path keeps everything a tensor op: no .item()/.cpu()/.numpy()/.tolist() and no
    tensor made from host data per frame (on CUDA each would be a host round trip or a blocking
    upload; the CUDA test below checks sync-free directly)."""
    frames = _pan()
    b = TemporalBlender(TemporalConfig(flow="torch"))
    b(frames[0], frames[0])

    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("host read-back in the torch temporal path")

    # models.imgops sends CPU float tensors through OpenCV (host memory read in place, so numpy /
    # from_numpy there are no transfer); CUDA tensors take its PyTorch route, used here as well.
    import torch.nn.functional as F

    import models.temporal.detail as detail_module

    monkeypatch.setattr(detail_module, "box_mean",
                        lambda t, k: F.avg_pool2d(t, k, stride=1, padding=k // 2, count_include_pad=False))
    import models.flow.warp as warp_module

    monkeypatch.setattr(warp_module, "remap", lambda *a, **k: None)  # grid_sample, as on CUDA
    for name in ("item", "cpu", "numpy", "tolist"):
        monkeypatch.setattr(torch.Tensor, name, boom)
    for name in ("tensor", "as_tensor", "from_numpy"):  # host data: an upload (a sync) on CUDA
        monkeypatch.setattr(torch, name, boom)
    for f in frames[1:]:
        b(f, f)
    monkeypatch.undo()
    assert b.scene_cuts == 0


def test_blender_torch_path_scene_cut() -> None:
    frames = _pan(2)
    other = torch.rand(1, 3, *frames[0].shape[-2:]) * 0.3 + 0.7  # a different, bright shot
    b = TemporalBlender(TemporalConfig(flow="torch"))
    b(frames[0], frames[0])
    fresh = torch.rand_like(other)
    out = b(other, fresh)
    assert b.scene_cuts == 1
    torch.testing.assert_close(out, fresh, atol=1e-6, rtol=0)  # history dropped: the fresh frame
    assert float(b.last_confidence.max()) == 0.0


@pytest.mark.cuda
def test_cuda_temporal_step_without_host_sync() -> None:
    """On CUDA the default ("auto") blender runs flow, check, warp and blend with no
    synchronising call (torch's sync debug mode raises on any)."""
    frames = [f.cuda().half() for f in _pan()]
    b = TemporalBlender()
    assert b.uses_torch_flow(frames[0])
    b(frames[0], frames[0])
    b(frames[1], frames[1])  # warm-up: lazy CUDA init syncs
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for f in frames[2:]:
            out = b(f, f)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert out.dtype == torch.float16 and out.is_cuda and b.scene_cuts == 0


def test_graph_cache_runs_eagerly_off_cuda() -> None:
    from models.backends.cuda_graph import GraphCache

    calls = []

    def fn(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return a - b

    g = GraphCache(fn)
    a, b = torch.rand(2, 3), torch.rand(2, 3)
    assert torch.equal(g(a, b), a - b) and torch.equal(g(a, b), a - b)
    assert len(calls) == 2 and not g._graphs and not g.failed  # no capture, no warm-up on a CPU
    tf = TorchFlow(TorchFlowConfig(cuda_graph=True))
    x = _photo()
    torch.testing.assert_close(tf(x, x.roll(1, -1)), TorchFlow()(x, x.roll(1, -1)), atol=0, rtol=0)


@pytest.mark.cuda
def test_cuda_graph_flow_matches_eager() -> None:
    """Replayed flows equal eager ones, per shape, and earlier results survive later replays."""
    frames = [to.cuda() for to in _pan(3)]
    eager, graphed = TorchFlow(), TorchFlow(TorchFlowConfig(cuda_graph=True))
    first = graphed(frames[1], frames[0])
    second = graphed(frames[2], frames[1])
    assert not graphed._graphs.failed and len(graphed._graphs._graphs) == 1
    torch.testing.assert_close(first, eager(frames[1], frames[0]), atol=1e-3, rtol=0)
    torch.testing.assert_close(second, eager(frames[2], frames[1]), atol=1e-3, rtol=0)
    small = [f[..., :96, :160].contiguous() for f in frames]
    torch.testing.assert_close(graphed(small[1], small[0]), eager(small[1], small[0]), atol=1e-3, rtol=0)
    assert len(graphed._graphs._graphs) == 2
