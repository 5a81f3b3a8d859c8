"""Per-frame cost of the temporal blend (flow + confidence + warp + blend) vs the stylizer.

Baseline measured in the same run: the stylizer alone (TransformerNet "light" and "standard"
presets, random weights: the cost does not depend on the weights) at the same size, plus the
upload/download conversions. Times are medians over ``--reps`` frames of a panning real photo.

    .venv/bin/python bench/live_overhead.py                        # CPU, 640x480
    .venv/bin/python bench/live_overhead.py --device cuda --sizes 1280x720 1920x1080   # GPU (fp16)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.contracts import default_dtype  # noqa: E402
from models.io.image import to_tensor, to_uint8  # noqa: E402  (not models.io: no PyAV on the GPU image)
from models.temporal.blender import TemporalBlender, TemporalConfig  # noqa: E402
from models.nets.transformer import TransformerNet, preset  # noqa: E402

VARIANTS = {
    "default (medium, 640, fwd-bwd, photometric, bicubic history, restore lost; issue 17)": TemporalConfig(),
    "before issue 17 (fast, 320)": TemporalConfig(flow_preset="fast", flow_max_side=320),
    "medium 640 bwd-only": TemporalConfig(flow_preset="medium", flow_max_side=640, check="bwd"),
    "fast 640": TemporalConfig(flow_preset="fast", flow_max_side=640),
    "before #3 (restore to fresh, bilinear history)": TemporalConfig(detail_target="fresh", history_resampling="bilinear"),
    "plain blend (no detail restore)": TemporalConfig(preserve_contrast=False, history_resampling="bilinear"),
    "bwd-only (fast, 320)": TemporalConfig(flow_preset="fast", flow_max_side=320, check="bwd"),
    "ultrafast 320": TemporalConfig(flow_preset="ultrafast", flow_max_side=320),
    "fast 160": TemporalConfig(flow_preset="fast", flow_max_side=160),
    "medium 320": TemporalConfig(flow_preset="medium", flow_max_side=320),
    # the default above is flow="auto": torch flow on CUDA, DIS on a CPU; both forced here
    "DIS flow (CPU) forced": TemporalConfig(flow="dis"),
    "torch flow forced": TemporalConfig(flow="torch"),
}


def frames(h: int, w: int, n: int) -> np.ndarray:
    """A smooth photo-like texture panning 2 px/frame (no shared data needed)."""
    g = np.random.default_rng(0)
    import cv2

    base = cv2.resize(g.random((h // 8, (w + 2 * n) // 8, 3)).astype(np.float32), (w + 2 * n, h), interpolation=cv2.INTER_CUBIC)
    base = (np.clip(base, 0, 1) * 255).astype(np.uint8)
    return np.stack([base[:, 2 * i:2 * i + w] for i in range(n)])


def timed(fn, reps: int, sync) -> float:  # type: ignore[no-untyped-def]
    ts = []
    for i in range(reps):
        t0 = time.perf_counter()
        fn(i)
        sync()
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts[1:] if reps > 2 else ts))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", nargs="+", default=["640x480"])
    ap.add_argument("--reps", type=int, default=12)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    dtype = default_dtype(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"device: {name}; torch {torch.__version__}; dtype {dtype}; median of {args.reps} frames\n")
    print("| size | stage | ms/frame | vs light stylizer |")
    print("|---|---|---|---|")
    torch.set_grad_enabled(False)
    for size in args.sizes:
        w, h = (int(v) for v in size.split("x"))
        u8 = frames(h, w, args.reps + 1)
        xs = [to_tensor(u8[i], device=dev, dtype=dtype) for i in range(len(u8))]
        res = {}
        for p in ("light", "standard"):
            net = TransformerNet(preset(p)).to(dev, dtype).eval()
            res[f"stylizer {p}"] = timed(lambda i: net(xs[i]), args.reps, sync)
        res["upload+download (uint8<->tensor)"] = timed(lambda i: to_uint8(to_tensor(u8[i], device=dev, dtype=dtype)), args.reps, sync)
        styl = [x.flip(-1) for x in xs]  # any image works as "stylized": the cost is data independent
        for vname, cfg in VARIANTS.items():
            b = TemporalBlender(cfg)
            b(xs[0], styl[0])
            res[f"temporal: {vname}"] = timed(lambda i: b(xs[i + 1], styl[i + 1]), args.reps, sync)
        base = res["stylizer light"]
        for k, v in res.items():
            print(f"| {w}x{h} | {k} | {v:.1f} | {v / base:.2f} |")


if __name__ == "__main__":
    main()
