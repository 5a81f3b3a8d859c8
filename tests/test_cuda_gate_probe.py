"""One CUDA-marked test for tests/test_cuda_gate.py's subprocess runs (tiny on purpose)."""
import pytest
import torch


@pytest.mark.cuda
def test_cuda_probe():
    assert torch.zeros(2, device="cuda").sum().item() == 0.0
