"""models.io.atomic: the one atomic writer (normal permissions, nothing left behind on failure),
its users (flow files, `stylecast flow`), and models.io.resize's sizes on known values."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from models.io.atomic import atomic_path, write_bytes_atomic, write_text_atomic
from models.io.resize import fit_size, resize_frame


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_files_get_normal_permissions_and_replace_atomically(tmp_path: Path, umask_022) -> None:
    p = tmp_path / "a.bin"
    write_bytes_atomic(p, b"one")
    write_bytes_atomic(p, b"two")
    write_text_atomic(tmp_path / "b.txt", "héllo")
    assert p.read_bytes() == b"two" and (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo"
    assert _mode(p) == 0o644 and _mode(tmp_path / "b.txt") == 0o644  # not mkstemp's 0600
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.bin", "b.txt"]


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    p = tmp_path / "out.png"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="encoder died"):
        with atomic_path(p, keep_suffix=True) as tmp:
            assert tmp.suffix == ".png" and tmp.name.startswith(".") and tmp.parent == tmp_path
            tmp.write_bytes(b"half")
            raise RuntimeError("encoder died")
    assert p.read_bytes() == b"old" and [x.name for x in tmp_path.iterdir()] == ["out.png"]
    with pytest.raises(FileNotFoundError, match="produced no file"):
        with atomic_path(tmp_path / "never.bin"):
            pass
    assert not (tmp_path / "never.bin").exists()


def test_default_temp_name_is_not_matched_by_a_suffix_listing(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "fwd.flo") as tmp:
        tmp.write_bytes(b"x")
        assert list(tmp_path.glob("*.flo")) == []  # a crash here leaves nothing a resumed job would read


def test_flow_command_outputs_are_world_readable(tmp_path: Path, umask_022) -> None:
    import cv2

    from models.cli import main

    rng = np.random.default_rng(0)
    a = (rng.random((40, 56, 3)) * 255).astype(np.uint8)
    b = np.roll(a, 2, axis=1)
    for name, img in (("a.png", a), ("b.png", b)):
        cv2.imwrite(str(tmp_path / name), img)
    assert main(["flow", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "f")]) == 0
    outs = sorted((tmp_path / "f").iterdir())
    assert [p.name for p in outs] == ["backward.flo", "consistency.png", "forward.flo"]
    assert all(_mode(p) == 0o644 for p in outs), {p.name: oct(_mode(p)) for p in outs}


@pytest.mark.parametrize("args, kw, expected", [
    ((1080, 1920, 1280), {}, (720, 1280)),                       # live / stylize: even when scaled
    ((241, 321, 1280), {}, (241, 321)),                          # fits: exact size kept
    ((241, 321, 200), {}, (150, 200)),
    ((480, 640, 320), {"multiple": 1, "min_side": 8}, (240, 320)),  # the live flow's size
    ((10, 1000, 320), {"multiple": 1, "min_side": 8}, (8, 320)),
    ((241, 321, None), {"min_side": 16, "keep_fitting": False}, (240, 320)),  # offline: always even
    ((436, 1024, 96), {"min_side": 16, "keep_fitting": False}, (40, 96)),
    ((4, 4, None), {"min_side": 16, "keep_fitting": False}, (16, 16)),
])
def test_fit_size_known_values(args, kw, expected) -> None:
    assert fit_size(*args, **kw) == expected


def test_resize_frame_area_average_and_identity() -> None:
    img = np.zeros((4, 4, 3), np.uint8)
    img[:, :2] = 200
    assert resize_frame(img, (4, 4)) is img
    out = resize_frame(img, (2, 2))
    assert out.shape == (2, 2, 3) and out[0, 0, 0] == 200 and out[0, 1, 0] == 0
