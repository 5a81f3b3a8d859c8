"""bench/finetune_compare.py: a fine-tuned file's rows paired with today's network, on known values."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _module():
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("finetune_compare", ROOT / "bench" / "finetune_compare.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _results() -> dict:
    res = {}
    # report half: base E_warp 10, 4, 2; candidate 5, 2.4, 0.8 -> ratios 0.5, 0.6, 0.4;
    # style 100 -> 90, 106, 100 -> rises -10 %, +6 %, 0 %
    for clip, (e, s) in {"handheld_selfie": (5.0, 90.0), "dashcam": (2.4, 106.0), "forest": (0.8, 100.0)}.items():
        base = {"handheld_selfie": 10.0, "dashcam": 4.0, "forest": 2.0}[clip]
        res[f"{clip}|640x480|wave|per-frame"] = {"ewarp": base, "style": 100.0}
        res[f"{clip}|640x480|out/w.safetensors|per-frame"] = {"ewarp": e, "style": s}
    # a live-blend row and a tuning row without a baseline are not paired
    res["forest|640x480|out/w.safetensors|live"] = {"ewarp": 0.1, "style": 50.0}
    res["bunny|854x480|out/w.safetensors|per-frame"] = {"ewarp": 1.0, "style": 1.0}
    return res


def test_pairs_only_per_frame_rows_with_a_baseline() -> None:
    fc = _module()
    rows = fc.compare(_results(), "wave", "out/w.safetensors")
    assert [r["clip"] for r in rows] == ["handheld_selfie", "dashcam", "forest"]  # the script's clip order
    got = {r["clip"]: (round(r["ratio"], 6), round(r["rise"], 6)) for r in rows}
    assert got == {"handheld_selfie": (0.5, -0.1), "dashcam": (0.6, 0.06), "forest": (0.4, 0.0)}


def test_summary_median_worst_and_target() -> None:
    fc = _module()
    out = fc.report(_results(), "wave", ["out/w.safetensors"], max_ratio=0.6, max_rise=0.05)
    row = next(line for line in out.splitlines() if line.startswith("| out/w.safetensors | report | 3 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:] == ["0.50", "0.60 (dashcam)", "+0.0 %", "+6.0 % (dashcam)", "no"]  # +6 % > +5 %
    out = fc.report(_results(), "wave", ["out/w.safetensors"], max_ratio=0.6, max_rise=0.07)
    assert out.splitlines()[-1].endswith("| yes |")


def test_cli_missing_file_is_one_line(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "finetune_compare.py"), str(tmp_path / "none.json"),
                        "--baseline", "wave", "--candidates", "x"], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "Traceback" not in p.stderr and "not found" in p.stderr
    f = tmp_path / "r.json"
    f.write_text(json.dumps(_results()))
    p = subprocess.run([sys.executable, str(ROOT / "bench" / "finetune_compare.py"), str(f),
                        "--baseline", "wave", "--candidates", "out/w.safetensors"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and "| out/w.safetensors | report | 3 | 0.50 |" in p.stdout
