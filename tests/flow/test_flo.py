from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.flow.files import read_flo, valid_mask, write_flo
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


def test_kitti_png_known_values_and_layout(tmp_path: Path) -> None:
    """KITTI layout (R = u*64 + 2^15, G = v, B = valid), 1/64 px steps, unknown and out-of-range
    values written as invalid and read back as .flo's unknown."""
    import cv2

    from models.flow.files import read_flow_png, write_flow_png

    flow = np.array([[[0.0, 0.0], [1.5, -2.25], [511.9, -511.9]],
                     [[0.01, -0.01], [np.nan, 3.0], [600.0, 0.0]]], np.float32)
    flow[0, 0] = [1e10, 1e10]  # .flo "unknown"
    write_flow_png(tmp_path / "f.png", flow)
    assert list(tmp_path.iterdir()) == [tmp_path / "f.png"]  # atomic: no temp file left
    rgb = cv2.cvtColor(cv2.imread(str(tmp_path / "f.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    assert rgb.dtype == np.uint16 and rgb.shape == (2, 3, 3)
    assert tuple(rgb[0, 1]) == (1.5 * 64 + 32768, -2.25 * 64 + 32768, 1)
    back = read_flow_png(tmp_path / "f.png")
    ok = valid_mask(back)
    assert ok.tolist() == [[False, True, True], [True, False, False]]
    np.testing.assert_allclose(back[ok], flow[ok], atol=0.5 / 64, rtol=0)
    np.testing.assert_array_equal(back[0, 1], [1.5, -2.25])  # multiples of 1/64 are exact


def test_kitti_png_rejects_other_images_and_is_smaller_than_flo(tmp_path: Path) -> None:
    import cv2

    from models.flow.files import read_flow_png, write_flow_png

    cv2.imwrite(str(tmp_path / "rgb8.png"), np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="3-channel uint16"):
        read_flow_png(tmp_path / "rgb8.png")
    with pytest.raises(ValueError, match="HxWx2"):
        write_flow_png(tmp_path / "x.png", np.zeros((4, 4, 3), np.float32))
    # a smooth flow field (like DIS output): the PNG is several times smaller than the .flo
    yy, xx = np.mgrid[0:120, 0:160].astype(np.float32)
    smooth = np.dstack([3 * np.sin(xx / 20) + yy / 60, 2 * np.cos(yy / 15)]).astype(np.float32)
    write_flo(tmp_path / "s.flo", smooth)
    write_flow_png(tmp_path / "s.png", smooth)
    assert (tmp_path / "s.png").stat().st_size < 0.35 * (tmp_path / "s.flo").stat().st_size
    np.testing.assert_allclose(read_flow_png(tmp_path / "s.png"), smooth, atol=0.5 / 64, rtol=0)
