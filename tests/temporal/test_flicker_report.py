"""bench/flicker_report.py: the fixed split and the median / worst summary on known values."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location("flicker_report", ROOT / "bench" / "flicker_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_split_is_fixed_and_covers_the_motion_types() -> None:
    fr = _module()
    halves = {h: [c for c, v in fr.CLIPS.items() if v[2] == h] for h in fr.HALVES}
    assert len(halves["tuning"]) == 4 and len(halves["report"]) == 4
    # the clips every earlier live setting was tuned on never report
    assert {"cockatoo", "bunny", "sintel"} <= set(halves["tuning"])
    assert fr.VARIANTS["v1-fast-320"].flow_max_side == 320 and fr.VARIANTS["per-frame"] is None


def test_summary_median_and_worst() -> None:
    fr = _module()
    res = {}
    # report half, 3 clips x 1 style: ratios 0.2, 0.5, 0.3; style rises +10 %, -5 %, 0 %
    for clip, (e, s) in {"handheld_selfie": (0.2, 1.1), "dashcam": (0.5, 0.95), "forest": (0.3, 1.0)}.items():
        res[f"{clip}|640x480|wave|per-frame"] = {"ewarp": 1.0, "style": 1.0}
        res[f"{clip}|640x480|wave|live"] = {"ewarp": e, "style": s}
    out = fr.table(res, ["live"])
    row = next(line for line in out.splitlines() if line.startswith("| report | own size | live |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3] == "3" and cells[4] == "0.30" and cells[5] == "0.50 (dashcam, wave)"
    assert cells[6] == "+0.0 %" and cells[7] == "+10.0 % (handheld_selfie, wave)"


def test_read_clip_own_size() -> None:
    fr = _module()
    if not (fr.shared_dir() / "data" / "video" / "clips").is_dir():
        pytest.skip("needs ../shared/data/video (set STYLECAST_SHARED)")
    pytest.importorskip("av")
    x = fr.read_clip("webcam", 3)
    assert x.shape == (3, 480, 640, 3)
    assert fr.read_clip("webcam", 2, height=240).shape == (2, 240, 320, 3)


def test_one_off_variants_parse_into_configs() -> None:
    fr = _module()
    cfg = fr.parse_config("cfg:strength=0.8,flow_max_side=960,photometric_threshold=None,preserve_contrast=False,flow=torch")
    assert (cfg.strength, cfg.flow_max_side, cfg.photometric_threshold, cfg.preserve_contrast, cfg.flow) == \
        (0.8, 960, None, False, "torch")
    assert fr.parse_config("cfg:flow_variational_iters=2").flow_variational_iters == 2
    with pytest.raises(SystemExit, match="no field 'strenght'"):
        fr.parse_config("cfg:strenght=0.8")
    with pytest.raises(ValueError, match="strength must be in"):
        fr.parse_config("cfg:strength=1.5")
