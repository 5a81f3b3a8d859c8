"""Issue 20 (defect 3): huge, NaN and infinite numbers on the command line are checked at the
boundary (argparse types / mix validation): a blend or a one-line error, never a traceback."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.cli import main
from models.io import read_image, write_image
from models.nets.mix import parse_mix


def test_huge_mix_weights_are_an_equal_blend() -> None:
    assert parse_mix("a=1e308,b=1e308", ["a", "b"]) == (0.5, 0.5)
    assert parse_mix("a=1e308,b=0", ["a", "b"]) == (1.0, 0.0)
    assert parse_mix("a=1.7976931348623157e308,b=5e-324", ["a", "b"])[0] == 1.0
    for bad in ("a=1e400,b=1", "a=nan,b=1", "a=-inf,b=1"):
        with pytest.raises(ValueError, match="finite"):
            parse_mix(bad, ["a", "b"])


def test_stylize_with_huge_mix_weights_writes_the_blend(tmp_path: Path, capsys) -> None:
    src, out, ref = tmp_path / "in.png", tmp_path / "out.png", tmp_path / "ref.png"
    rng = np.random.default_rng(0)
    write_image(src, rng.integers(0, 256, (40, 56, 3), np.uint8))
    assert main(["stylize", str(src), "-s", "multistyle:wave=1e308,udnie=1e308", "-o", str(out), "--device", "cpu"]) == 0
    assert main(["stylize", str(src), "-s", "multistyle:wave=1,udnie=1", "-o", str(ref), "--device", "cpu"]) == 0
    assert np.array_equal(read_image(out), read_image(ref))


def test_live_with_huge_mix_weights_runs(capsys) -> None:
    rc = main(["live", "--source", "pattern", "--sink", "null", "--max-frames", "2", "--device", "cpu",
               "-s", "multistyle", "--mix", "wave=1e308,udnie=1e308", "--max-side", "64"])
    assert rc == 0
    assert "wave 50%, udnie 50%" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["live", "--strength", "nan"], "--strength: expected a finite number, got 'nan'"),
    (["live", "--sweep-seconds", "1e400"], "--sweep-seconds: expected a finite number"),
    (["serve", "--fps", "inf"], "--fps: expected a finite number"),
    (["serve", "--port", "70000"], "--port: expected a port in 1..65535"),
    (["stylize", "x.png", "-o", "y.png", "--max-side", "9" * 40], "--max-side: expected an integer of magnitude"),
    (["train", "--lr=-inf"], "--lr: expected a finite number"),
])
def test_non_finite_or_huge_numbers_are_refused_by_argparse(argv, message, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_train_refuses_a_learning_rate_that_makes_nan_weights(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(tmp_path / "styles"))
    style = write_image(tmp_path / "s.png", np.full((32, 32, 3), 90, np.uint8))
    (tmp_path / "c").mkdir()
    write_image(tmp_path / "c" / "a.png", np.full((32, 32, 3), 200, np.uint8))
    for lr in ("1e308", "5"):
        rc = main(["train", "--style", str(style), "--content", str(tmp_path / "c"), "-o", "x", "--steps", "1",
                   "--size", "32", "--lr", lr])
        assert rc == 2
        assert "--lr: expected a number in (0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "styles").exists() or not any((tmp_path / "styles").iterdir())
