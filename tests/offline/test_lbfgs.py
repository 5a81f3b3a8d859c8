"""offline.ruder.lbfgs.CompactLBFGS: the iterates of torch.optim.LBFGS (history, strong Wolfe,
state across chunked step() calls), from the compact representation instead of the two-loop."""
from __future__ import annotations

import pytest
import torch

from offline.ruder.lbfgs import CompactLBFGS

N = 60


def _problem(device: str = "cpu"):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(N, N, generator=g, dtype=torch.float64)
    a = (a @ a.T / N + 0.1 * torch.eye(N, dtype=torch.float64)).to(device)
    c = torch.randn(N, generator=g, dtype=torch.float64).to(device)
    # smooth and non-quadratic, so the line search and the curvature pairs matter
    return lambda x: 0.5 * x @ a @ x - c @ x + 0.3 * torch.sin(3 * x).sum() + 0.05 * (x ** 4).sum()


def _trajectory(kind: str, history: int, chunks: int = 8, per_chunk: int = 7,
                device: str = "cpu") -> tuple[list[torch.Tensor], int]:
    f = _problem(device)
    x = torch.zeros(N, dtype=torch.float64, device=device, requires_grad=True)
    evals = 0

    def closure() -> torch.Tensor:
        nonlocal evals
        evals += 1
        x.grad = None
        loss = f(x)
        loss.backward()
        return loss

    out = []
    if kind == "torch":
        opt = torch.optim.LBFGS([x], lr=1.0, max_iter=per_chunk, max_eval=per_chunk * 5 // 4, history_size=history,
                                tolerance_grad=-1, tolerance_change=-1, line_search_fn="strong_wolfe")
        for _ in range(chunks):
            opt.step(closure)
            out.append(x.detach().clone())
    else:
        mine = CompactLBFGS(x, history=history)
        for _ in range(chunks):
            mine.step(closure, max_iter=per_chunk, max_eval=per_chunk * 5 // 4)
            out.append(x.detach().clone())
    return out, evals


@pytest.mark.parametrize(("history", "tol"), [(5, 1e-10), (100, 1e-6)])
def test_same_iterates_as_torch_lbfgs(history: int, tol: float) -> None:
    """56 iterations in 8 chunked step() calls: history 5 wraps the ring buffer many times (measured
    max difference 2.6e-14), history 100 never does (1.6e-8: more pairs, more rounding)."""
    ref, ref_evals = _trajectory("torch", history)
    got, got_evals = _trajectory("compact", history)
    assert got_evals == ref_evals
    for i, (a, b) in enumerate(zip(ref, got)):
        assert float((a - b).abs().max()) < tol * max(1.0, float(a.abs().max())), f"chunk {i}"
    assert float((ref[-1] - ref[0]).abs().max()) > 0.1  # it really moved


def test_errors_and_float32_on_an_image_shaped_tensor() -> None:
    with pytest.raises(ValueError, match="history"):
        CompactLBFGS(torch.zeros(3, requires_grad=True), history=0)
    target = torch.rand(1, 3, 8, 12, generator=torch.Generator().manual_seed(1))
    x = torch.zeros(1, 3, 8, 12, requires_grad=True)

    def closure() -> torch.Tensor:
        x.grad = None
        loss = ((x - target) ** 2).sum()
        loss.backward()
        return loss

    opt = CompactLBFGS(x, history=4)
    first = opt.step(closure, max_iter=20)
    assert float(closure().detach()) < 1e-3 * first
    assert float((x.detach() - target).abs().max()) < 1e-3
    assert x.dtype == torch.float32 and opt.S.dtype == torch.float32


def test_device_choice_and_torch_adapter_match() -> None:
    """CPU keeps torch's two-loop (fewer passes over the history); CUDA gets the compact form.
    The adapter's chunked steps are torch's."""
    from offline.ruder.lbfgs import TorchLBFGS, lbfgs_for

    x = torch.zeros(4, requires_grad=True)
    assert isinstance(lbfgs_for(x), TorchLBFGS)
    if torch.cuda.is_available():
        assert isinstance(lbfgs_for(torch.zeros(4, device="cuda", requires_grad=True)), CompactLBFGS)
    f = _problem()
    y = torch.zeros(N, dtype=torch.float64, requires_grad=True)

    def closure() -> torch.Tensor:
        y.grad = None
        loss = f(y)
        loss.backward()
        return loss

    adapter = TorchLBFGS(y, history=5)
    for _ in range(8):
        adapter.step(closure, max_iter=7)
    ref, _ = _trajectory("torch", 5)
    assert torch.equal(y.detach(), ref[-1])



@pytest.mark.cuda
def test_cuda_iterates_match_torch_on_the_gpu() -> None:
    """On CUDA, where lbfgs_for picks the compact form: float64 iterates equal torch's there too."""
    ref, ref_evals = _trajectory("torch", 5, device="cuda")
    got, got_evals = _trajectory("compact", 5, device="cuda")
    assert got_evals == ref_evals
    assert float((ref[-1] - got[-1]).abs().max()) < 1e-9 * max(1.0, float(ref[-1].abs().max()))
