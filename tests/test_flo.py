from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.flo import read_flo, valid_mask, write_flo
from tests.conftest import shared_path


def test_round_trip(tmp_path: Path) -> None:
    flow = np.random.default_rng(0).normal(size=(7, 9, 2)).astype(np.float32)
    write_flo(tmp_path / "a.flo", flow)
    np.testing.assert_array_equal(read_flo(tmp_path / "a.flo"), flow)
    assert list(tmp_path.iterdir()) == [tmp_path / "a.flo"]  # no temp files left


def test_truncated_file_is_rejected(tmp_path: Path) -> None:
    flow = np.zeros((4, 4, 2), np.float32)
    write_flo(tmp_path / "a.flo", flow)
    (tmp_path / "b.flo").write_bytes((tmp_path / "a.flo").read_bytes()[:-8])
    with pytest.raises(ValueError, match="header says 4x4"):
        read_flo(tmp_path / "b.flo")


def test_middlebury_ground_truth_loads() -> None:
    f = read_flo(shared_path("data", "flow", "middlebury", "RubberWhale", "flow10.flo"))
    assert f.shape == (388, 584, 2)
    ok = valid_mask(f)
    assert 0.5 < ok.mean() < 1.0  # RubberWhale has unknown regions
    assert np.abs(f[ok]).max() < 10  # small motions in this pair
