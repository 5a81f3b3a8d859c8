"""Network alone: a fine-tuned style file against today's network, from bench/flicker_report.py results.

Issue 17's first target compares a network with itself before the temporal fine-tune, not with
a blend: E_warp(candidate) / E_warp(today's network) and the style loss rise, both per-frame
(no run-time flow), on the same frames. bench/flicker_report.py measures each style as its own
row ("per-frame" variant); this script pairs the rows of a candidate with those of the baseline
on the same clip and size and prints per clip, then median and worst per half.

    python bench/flicker_report.py --half tuning --variants per-frame --styles wave out/wave_B.safetensors --out r.json
    python bench/finetune_compare.py r.json --baseline wave --candidates out/wave_B.safetensors

Target (issue 17, report half): ratio <= 0.6 and style rise <= +5 % on every clip.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from flicker_report import CLIPS, HALVES  # noqa: E402


def compare(results: dict, baseline: str, candidate: str) -> list[dict]:
    """Rows (clip, size, half, base/cand E_warp and style, ratio, rise) where both were measured."""
    rows = []
    for k, v in results.items():
        clip, size, style, variant = k.split("|")
        if style != candidate or variant != "per-frame":
            continue
        base = results.get(f"{clip}|{size}|{baseline}|per-frame")
        if base is None:
            continue
        rows.append({"clip": clip, "size": size, "half": CLIPS[clip][2], "base_ewarp": base["ewarp"],
                     "ewarp": v["ewarp"], "ratio": v["ewarp"] / base["ewarp"],
                     "rise": v["style"] / base["style"] - 1.0})
    order = list(CLIPS)
    return sorted(rows, key=lambda r: (HALVES.index(r["half"]), order.index(r["clip"])))


def report(results: dict, baseline: str, candidates: list[str], max_ratio: float, max_rise: float) -> str:
    lines = [f"| candidate | half | clip | size | E_warp {baseline} x1e3 | E_warp x1e3 | ratio | style rise |",
             "|---|---|---|---|---|---|---|---|"]
    summ = ["| candidate | half | n | ratio median | worst | style rise median | worst | target met |",
            "|---|---|---|---|---|---|---|---|"]
    for cand in candidates:
        rows = compare(results, baseline, cand)
        if not rows:
            summ.append(f"| {cand} | - | 0 | no rows paired with {baseline} | | | | |")
            continue
        for r in rows:
            lines.append(f"| {cand} | {r['half']} | {r['clip']} | {r['size']} | {1e3 * r['base_ewarp']:.3f} | "
                         f"{1e3 * r['ewarp']:.3f} | {r['ratio']:.2f} | {100 * r['rise']:+.1f} % |")
        for half in HALVES:
            hr = [r for r in rows if r["half"] == half]
            if not hr:
                continue
            wr, ws = max(hr, key=lambda r: r["ratio"]), max(hr, key=lambda r: r["rise"])
            met = wr["ratio"] <= max_ratio and ws["rise"] <= max_rise
            summ.append(f"| {cand} | {half} | {len(hr)} | {statistics.median(r['ratio'] for r in hr):.2f} | "
                        f"{wr['ratio']:.2f} ({wr['clip']}) | {100 * statistics.median(r['rise'] for r in hr):+.1f} % | "
                        f"{100 * ws['rise']:+.1f} % ({ws['clip']}) | {'yes' if met else 'no'} |")
    return "\n".join(lines) + "\n\n" + "\n".join(summ)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results", help="JSON written by bench/flicker_report.py --out")
    ap.add_argument("--baseline", required=True, help="today's network, as named in the report (e.g. wave)")
    ap.add_argument("--candidates", nargs="+", required=True, help="fine-tuned style files as named in the report")
    ap.add_argument("--max-ratio", type=float, default=0.6)
    ap.add_argument("--max-rise", type=float, default=0.05)
    args = ap.parse_args()
    path = Path(args.results)
    if not path.is_file():
        raise SystemExit(f"results: {path} not found (run bench/flicker_report.py --out {path} first)")
    print(report(json.loads(path.read_text()), args.baseline, args.candidates, args.max_ratio, args.max_rise))


if __name__ == "__main__":
    main()
