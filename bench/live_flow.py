"""Live flow estimator accuracy (EPE) and confidence-mask precision/recall vs ground truth.

Data: ../shared/data/flow (MPI-Sintel alley_1/cave_2 clean+final frame 2->3 with occlusion
masks; Middlebury RubberWhale/Dimetrodon/Venus frame10->11). Flows are estimated the way the
live loop does (DIS on grey frames downscaled to ``max_side``, upsampled) and compared at full
resolution. For the mask, frame 2 plays the live loop's "current" frame and frame 3 its
"previous": the confidence computed on frame 2's grid should be 0 exactly where Sintel marks
frame-2 pixels as occluded in frame 3. Positive class = "unreliable".

    .venv/bin/python bench/live_flow.py            # prints a markdown table
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.flow.consistency import consistency_weights, motion_boundary  # noqa: E402
from models.flow.files import read_flo, valid_mask  # noqa: E402
from models.flow.estimators import DISConfig, DISFlow, flow_to_tensor, scaled_size, to_gray_u8  # noqa: E402
from models.flow.warp import inside_mask, warp  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "flow"


def _rgb(path: Path) -> torch.Tensor:
    img = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    return torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0


def pairs() -> list[tuple[str, torch.Tensor, torch.Tensor, np.ndarray, np.ndarray | None]]:
    out = []
    for scene in ("alley_1", "cave_2"):
        d = SHARED / "sintel" / scene
        gt = read_flo(d / "flow" / "frame_0002.flo")
        occ = cv2.imread(str(d / "occlusions" / "frame_0002.png"), cv2.IMREAD_GRAYSCALE) > 127
        for kind in ("clean", "final"):
            out.append((f"sintel {scene} {kind}", _rgb(d / kind / "frame_0002.png"), _rgb(d / kind / "frame_0003.png"), gt, occ))
    for scene in ("RubberWhale", "Dimetrodon", "Venus"):
        d = SHARED / "middlebury" / scene
        out.append((f"middlebury {scene}", _rgb(d / "frame10.png"), _rgb(d / "frame11.png"), read_flo(d / "flow10.flo"), None))
    return out


def epe(est: torch.Tensor, gt: np.ndarray) -> float:
    e = est[0].permute(1, 2, 0).numpy()
    ok = valid_mask(gt)
    return float(np.linalg.norm(e - gt, axis=-1)[ok].mean())


def masks(a: torch.Tensor, b: torch.Tensor, dis: DISFlow, max_side: int, photometric: float | None,
          check: str) -> torch.Tensor:
    """Unreliable-pixel mask on a's grid exactly as TemporalBlender computes it (a = current)."""
    h, w = a.shape[-2:]
    size = scaled_size(h, w, max_side)
    ga, gb = to_gray_u8(a, size)[0], to_gray_u8(b, size)[0]
    bwd = flow_to_tensor(dis.calc_gray(ga, gb))
    if check.startswith("fwd-bwd"):  # "fwd-bwd:PRESET": the forward flow (the check's only) by another preset
        fdis = DISFlow(DISConfig(preset=check.partition(":")[2], max_side=max_side)) if ":" in check else dis
        conf = consistency_weights(bwd, flow_to_tensor(fdis.calc_gray(gb, ga)))
    else:
        conf = (~motion_boundary(bwd)).float() * inside_mask(bwd)
    if photometric is not None:
        ta = torch.from_numpy(ga).float()[None, None] / 255
        tb = torch.from_numpy(gb).float()[None, None] / 255
        conf = conf * ((warp(tb, bwd) - ta).abs() <= photometric).float()
    conf = F.interpolate(conf, size=(h, w), mode="bilinear", align_corners=False)
    return conf[0, 0] < 0.5


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-side", type=int, nargs="+", default=[160, 320, 480])
    ap.add_argument("--presets", nargs="+", default=["ultrafast", "fast", "medium"])
    ap.add_argument("--mask-preset", default="fast", help="DIS preset of the mask section (the live default: medium)")
    ap.add_argument("--checks", nargs="+", default=["fwd-bwd", "bwd"],
                    help="mask checks: fwd-bwd, bwd, fwd-bwd:PRESET (forward flow by PRESET)")
    ap.add_argument("--mask-only", action="store_true")
    ap.add_argument("--variational", type=int, default=None, help="mask section: DIS refinement iterations (default: the preset's)")
    args = ap.parse_args()
    data = pairs()
    print(f"torch {torch.__version__}, OpenCV {cv2.__version__}, {torch.get_num_threads()} threads\n")
    if args.mask_only:
        args.presets = []
    print("### Endpoint error (px, full resolution; lower is better) and time per flow\n")
    print("| preset | max_side | " + " | ".join(n for n, *_ in data) + " | mean EPE | ms/flow |")
    print("|---|---|" + "---|" * (len(data) + 2))
    for preset in args.presets:
        for ms in args.max_side:
            dis = DISFlow(DISConfig(preset=preset, max_side=ms))
            errs, t = [], 0.0
            for _n, a, b, gt, _occ in data:
                t0 = time.perf_counter()
                f = dis(a, b)
                t += time.perf_counter() - t0
                errs.append(epe(f, gt))
            print(f"| {preset} | {ms} | " + " | ".join(f"{e:.2f}" for e in errs)
                  + f" | **{np.mean(errs):.2f}** | {1000 * t / len(data):.1f} |")
    zero = [float(np.linalg.norm(gt, axis=-1)[valid_mask(gt)].mean()) for *_x, gt, _o in data]
    print("| (zero flow) | - | " + " | ".join(f"{e:.2f}" for e in zero) + f" | {np.mean(zero):.2f} | - |")

    print(f"\n### Confidence mask vs Sintel occlusion masks (positive = unreliable), DIS {args.mask_preset}\n")
    print("| check | photometric | max_side | precision | recall | flagged % (true occluded %) |")
    print("|---|---|---|---|---|---|")
    sintel = [d for d in data if d[4] is not None]
    for check in args.checks:
        for photo in (None, 0.05, 0.08, 0.12):
            for ms in (320,) if photo not in (None, 0.08) else args.max_side:
                dis = DISFlow(DISConfig(preset=args.mask_preset, max_side=ms, variational_iters=args.variational))
                tp = fp = fn = flagged = total = true = 0
                for _n, a, b, _gt, occ in sintel:
                    pred = masks(a, b, dis, ms, photo, check).numpy()
                    tp += int((pred & occ).sum())
                    fp += int((pred & ~occ).sum())
                    fn += int((~pred & occ).sum())
                    flagged += int(pred.sum())
                    true += int(occ.sum())
                    total += occ.size
                print(f"| {check} | {photo} | {ms} | {tp / max(tp + fp, 1):.2f} | {tp / max(tp + fn, 1):.2f} | "
                      f"{100 * flagged / total:.1f} ({100 * true / total:.1f}) |")


if __name__ == "__main__":
    main()
