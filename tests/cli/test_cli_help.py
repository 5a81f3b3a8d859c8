"""`stylecast SUBCOMMAND --help`: every subcommand, positional and option is described, every
option shows its default, and `--device` means the same in every command (issue 20, polish)."""
from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from models.cli import build_parser, main

_FLAGS = (argparse._StoreTrueAction, argparse._StoreFalseAction, argparse._HelpAction)


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {a.dest: a.help for a in sub._choices_actions}
    assert set(helps) == set(sub.choices), "every subcommand has a one-line help in `stylecast --help`"
    assert all(helps.values())
    return dict(sub.choices)


def _default_shown(default: object, text: str) -> bool:
    forms = {str(default)}
    if isinstance(default, float):
        forms |= {f"{default:g}", f"{default:.0e}"}
    return any(f in text for f in forms)


def test_every_subcommand_is_described() -> None:
    subs = _subparsers()
    assert {"stylize", "video", "live", "serve", "demo", "styles", "flow", "faces", "train"} <= set(subs)
    for name, p in subs.items():
        assert p.description, f"stylecast {name}: no description"


@pytest.mark.parametrize("name", sorted(_subparsers()))
def test_every_argument_has_help_and_shows_its_default(name: str) -> None:
    p = _subparsers()[name]
    text = "".join(p.format_help().split())  # argparse wraps lines (also at hyphens): compare without spaces
    for a in p._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        label = "/".join(a.option_strings) or a.dest
        assert a.help, f"stylecast {name} {label}: no help text"
        shown = p._get_formatter()._get_help_string(a) % {**vars(a), "default": a.default}
        assert "".join(shown.split()) in text  # what we checked is what --help prints
        if a.default in (None, False, [], "") or isinstance(a, _FLAGS):
            continue
        assert _default_shown(a.default, shown), f"stylecast {name} {label}: default {a.default!r} not in {shown!r}"


def test_device_option_is_the_same_everywhere() -> None:
    seen = {}
    for name, p in _subparsers().items():
        for a in p._actions:
            if "--device" in a.option_strings:
                seen[name] = (a.type, a.default, a.metavar, a.help)
    assert {"stylize", "video", "live", "serve", "demo", "train", "bench"} <= set(seen)
    assert len(set(seen.values())) == 1, seen
    p = _subparsers()["stylize"]
    for ok in ("auto", "cpu", "cuda", "cuda:1", "CUDA:0"):
        assert p.parse_args(["x.png", "-o", "y.png", "--device", ok]).device == ok.lower()


@pytest.mark.parametrize("cmd", ["stylize", "video", "live", "serve", "demo", "train"])
def test_bad_device_is_a_one_line_argument_error(cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = {"stylize": ["x.png", "-o", "y.png"], "video": ["x.mp4", "-o", "y.mp4"],
            "train": ["--style", "a.png", "--content", "c", "-o", "n"]}.get(cmd, [])
    with pytest.raises(SystemExit) as exc:
        main([cmd, *argv, "--device", "gpu"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "expected auto, cpu, cuda or cuda:N, got 'gpu'" in err and "Traceback" not in err


def test_device_note_comes_after_argument_errors(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """A mistake is reported alone, not after a "no CUDA GPU found" line that reads like the cause."""
    from models.io import write_image
    import numpy as np

    write_image(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    assert main(["stylize", str(tmp_path / "a.png"), "-o", str(tmp_path / "b.png"), "-s", "no_such_style"]) == 2
    assert main(["demo", "--no-serve", "--out", str(tmp_path), "--size", "big"]) == 2
    assert main(["demo", "--no-serve", "--out", str(tmp_path), "--frames", "1", "-s", "no_such_style"]) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 3 and all(": error: " in line for line in lines), lines
    assert "GPU" not in cap.err and "CPU" not in cap.err and cap.out == ""


def test_top_level_help_lists_commands_quickly() -> None:
    out = subprocess.run([sys.executable, "-m", "models.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "stylize" in out.stdout and "serve" in out.stdout
