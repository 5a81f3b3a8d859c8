"""The torch optical flow (models.flow.torch_dis, the live blender's flow on CUDA) against OpenCV DIS
"fast" at 320 px (the live blender's flow on the CPU): accuracy, confidence mask and time.

1. EPE on the shared ground truth (bench/live_flow.py's pairs). Parameters were chosen on
   Middlebury (3 pairs); the 4 Sintel pairs are held out. Target: mean EPE <= 1.3x DIS.
2. Confidence mask vs Sintel occlusions, computed by ``TemporalBlender`` itself (frame 3 fed as
   the previous frame, frame 2 as the current one; ``last_confidence < 0.5`` = unreliable), with
   ``flow="dis"`` and ``flow="torch"``. Target: precision and recall not below DIS's.
3. Time: one flow (torch: both directions batched, as the blender calls it) and the whole
   temporal step (blender call) per frame at each ``--sizes``, medians, both flows.

    python bench/flow_torch.py --threads 1                       # CPU: all three parts
    python bench/flow_torch.py --device cuda --sizes 1280x720 1920x1080 --timing-only   # GPU
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from models.flow.estimators import DISConfig, DISFlow, scaled_size  # noqa: E402
from models.flow.torch_dis import TorchFlow, TorchFlowConfig, to_grey  # noqa: E402
from models.temporal.blender import TemporalBlender, TemporalConfig  # noqa: E402


def accuracy() -> None:
    import live_flow as lf

    data = lf.pairs()
    ests = {
        "DIS fast 320 (CPU default)": DISFlow(DISConfig()),
        "torch, default (finest scale 1)": TorchFlow(),
        "torch, finest scale 2 (= DIS fast levels)": TorchFlow(TorchFlowConfig(finest_scale=2)),
        "torch, no propagation": TorchFlow(TorchFlowConfig(propagation_rounds=0)),
    }
    print("### EPE (px at full resolution) and CPU time per flow\n")
    names = [n.replace("middlebury ", "mb ") for n, *_ in data]
    print("| flow | " + " | ".join(names) + " | mean Middlebury (tuning) | mean Sintel (held out) | mean | x DIS | ms/flow |")
    print("|---|" + "---|" * (len(data) + 5))
    base = None
    for name, est in ests.items():
        errs, t = [], 0.0
        for _n, a, b, gt, _o in data:
            t0 = time.perf_counter()
            f = est(a, b)
            t += time.perf_counter() - t0
            errs.append(lf.epe(f, gt))
        mean = float(np.mean(errs))
        base = base or mean
        sintel = [e for (n, *_), e in zip(data, errs) if n.startswith("sintel")]
        mb = [e for (n, *_), e in zip(data, errs) if n.startswith("middlebury")]
        print(f"| {name} | " + " | ".join(f"{e:.2f}" for e in errs)
              + f" | {np.mean(mb):.2f} | {np.mean(sintel):.2f} | **{mean:.2f}** | {mean / base:.2f} | {1000 * t / len(data):.1f} |")

    print("\n### Confidence mask of TemporalBlender vs Sintel occlusions (positive = unreliable)\n")
    print("| flow | precision | recall | flagged % (true occluded %) |")
    print("|---|---|---|---|")
    sintel_pairs = [d for d in data if d[4] is not None]
    for flow in ("dis", "torch"):
        tp = fp = fn = flagged = total = true = 0
        for _n, a, b, _gt, occ in sintel_pairs:
            blender = TemporalBlender(TemporalConfig(flow=flow))
            blender(b, b)  # frame 3 as the previous frame
            blender(a, a)  # frame 2 as the current one
            assert blender.scene_cuts == 0
            pred = (blender.last_confidence[0, 0] < 0.5).numpy()
            tp += int((pred & occ).sum())
            fp += int((pred & ~occ).sum())
            fn += int((~pred & occ).sum())
            flagged += int(pred.sum())
            true += int(occ.sum())
            total += occ.size
        print(f"| {flow} | {tp / max(tp + fp, 1):.3f} | {tp / max(tp + fn, 1):.3f} | {100 * flagged / total:.1f} ({100 * true / total:.1f}) |")


def timing(device: str, sizes: list[str], reps: int) -> None:
    dev = torch.device(device)
    dtype = torch.float16 if dev.type == "cuda" else torch.float32
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    def med(fn) -> float:  # type: ignore[no-untyped-def]
        ts = []
        for i in range(reps + 2):
            t0 = time.perf_counter()
            fn(i)
            sync()
            ts.append(time.perf_counter() - t0)
        return 1000 * float(np.median(ts[2:]))

    print(f"\n### Time per frame on {device} ({torch.get_num_threads()} threads; medians of {reps})\n")
    print("| size | torch flow, 2 directions | same, CUDA graph | DIS flow, 2 directions (CPU, incl. download) "
          "| temporal step, flow=torch | same, CUDA graph | temporal step, flow=dis | torch / dis (step) |")
    print("|---|---|---|---|---|---|---|---|")
    g = torch.Generator().manual_seed(0)
    for s in sizes:
        w, h = (int(v) for v in s.split("x"))
        base = torch.nn.functional.interpolate(torch.rand(1, 3, h // 8, w // 8 + 8, generator=g), size=(h, w + 64), mode="bicubic").clamp(0, 1)
        frames = [base[..., 2 * i:2 * i + w].contiguous().to(dev, dtype) for i in range(reps + 3)]
        styl = [f.flip(1).contiguous() for f in frames]
        size = scaled_size(h, w, 320)
        tf, dis = TorchFlow(), DISFlow(DISConfig())
        greys = [to_grey(f, size) for f in frames]
        t_torch = med(lambda i: tf.grey_flow(torch.cat((greys[i + 1], greys[i])), torch.cat((greys[i], greys[i + 1]))))
        t_graph = float("nan")
        if dev.type == "cuda":
            tg = TorchFlow(TorchFlowConfig(cuda_graph=True))
            ref = tf.grey_flow(torch.cat((greys[1], greys[0])), torch.cat((greys[0], greys[1])))
            got = tg.grey_flow(torch.cat((greys[1], greys[0])), torch.cat((greys[0], greys[1])))
            print(f"({w}x{h}: CUDA graph vs eager flow, max abs diff {float((got - ref).abs().max()):.2e} px; "
                  f"graph {'failed, eager' if tg._graphs.failed else 'used'})")
            t_graph = med(lambda i: tg.grey_flow(torch.cat((greys[i + 1], greys[i])), torch.cat((greys[i], greys[i + 1]))))
        t_dis = med(lambda i: (dis(frames[i + 1], frames[i]), dis(frames[i], frames[i + 1])))
        steps = {}
        for name, flow, graphed in (("torch", "torch", False), ("graph", "torch", True), ("dis", "dis", False)):
            if graphed and dev.type != "cuda":
                steps[name] = float("nan")
                continue
            os.environ["STYLECAST_FLOW_CUDA_GRAPH"] = "1" if graphed else "0"
            b = TemporalBlender(TemporalConfig(flow=flow))
            b(frames[0], styl[0])
            steps[name] = med(lambda i: b(frames[i + 1], styl[i + 1]))
        os.environ.pop("STYLECAST_FLOW_CUDA_GRAPH")
        print(f"| {w}x{h} | {t_torch:.2f} ms | {t_graph:.2f} ms | {t_dis:.2f} ms | {steps['torch']:.2f} ms | "
              f"{steps['graph']:.2f} ms | {steps['dis']:.2f} ms | {steps['torch'] / steps['dis']:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", nargs="+", default=["640x480"])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave the default)")
    ap.add_argument("--timing-only", action="store_true", help="skip the ground-truth parts (no shared data needed)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        import cv2

        cv2.setNumThreads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}"
          + (f" ({torch.cuda.get_device_name()})" if args.device.startswith("cuda") else ""))
    if not args.timing_only:
        accuracy()
    timing(args.device, args.sizes, args.reps)


if __name__ == "__main__":
    main()
