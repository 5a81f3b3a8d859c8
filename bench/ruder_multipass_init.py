#!/usr/bin/env python3
"""A/B of multipass pass-1 init on the test clip (64x48 pan, exact flows, VGG19 relu1_1/relu2_1):
one shared noise image (Lua randImg, current code) vs per-frame noise (the code before issue #6),
emulated by patching the pass-1 seed. Prints E_warp (exact flow) and weighted style loss.

    nice -n 15 python bench/ruder_multipass_init.py     # docs/bench/offline.md section 1
"""
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import cv2  # noqa: E402
import torch  # noqa: E402
torch.set_num_threads(1)
import offline.ruder.methods as M  # noqa: E402
from offline.ruder.config import MultipassConfig, OptimConfig  # noqa: E402
from offline.ruder.job import read_png, u8_to_tensor  # noqa: E402
from offline.ruder.optimize import FrameOptimizer  # noqa: E402
from offline.ruder.pipeline import VideoSpec, run_video  # noqa: E402
from offline.ruder.synthetic import pan_clip, write_pan_job_inputs  # noqa: E402
from models.losses.networks import build_loss_network  # noqa: E402
from models.losses.functional import style_loss  # noqa: E402
from models.temporal.metrics import warping_error  # noqa: E402
S = os.environ.get("STYLECAST_SHARED", str(ROOT.parent / "shared"))
TAPS = ["relu1_1", "relu2_1"]
tex = cv2.resize(read_png(Path(S, "data/content/chelsea.png")), (96, 72), interpolation=cv2.INTER_AREA)
clip = pan_clip(tex, n=6, size=(48, 64), step=(2, 1))
net = build_loss_network("vgg19", weights=f"{S}/weights/vgg19_imagenet_features.fp16.safetensors", taps=TAPS)
style = u8_to_tensor(read_png(Path(S, "data/styles/starry_night.jpg")))
orig = torch.cat([u8_to_tensor(f) for f in clip])
flow = torch.empty(5, 2, 48, 64); flow[:, 0], flow[:, 1] = -2, -1
shared_init = M._init
def per_frame_init(kind, *, job, flows, stage, i, content, seed, prev_stage=None):
    # the code before: pass-1 seed frame_seed(seed, 1, i)
    return shared_init(kind, job=job, flows=flows, stage=stage, i=i, content=content, seed=M.frame_seed(0, 1, i) if stage == "pass01" else seed)
for passes in (1, 3):
    for name in ("shared", "per-frame"):
        M._init = shared_init if name == "shared" else per_frame_init
        root = Path(tempfile.mkdtemp())
        write_pan_job_inputs(root / "in", root / "job" / "flows", clip, (2, 1))
        o = OptimConfig(iterations=20, first_iterations=None, init="random", temporal_weight=3.25e7, tol=0.0, style_taps=tuple(TAPS), content_tap="relu2_1")
        mp = MultipassConfig(optim=o, passes=passes, temporal_after=3)
        spec = VideoSpec(input=str(root / "in"), output=str(root / "out"), method="multipass", job_dir=str(root / "job"), style_image=f"{S}/data/styles/starry_night.jpg", multipass=mp)
        opt = FrameOptimizer(net, style, o, style_taps=TAPS, content_tap="relu2_1", content_size=(48, 64))
        out = run_video(spec, optimizer=opt)
        fr = torch.cat([u8_to_tensor(read_png(p)) for p in sorted(out.iterdir())])
        with torch.no_grad():
            st = sum(float(style_loss({k: v for k, v in net(fr[i:i+1]).items() if k in TAPS}, opt.style_grams)) for i in range(6)) / 6 * 100
        print(f"passes={passes} {name}: E_warp={warping_error(orig, fr, flow, flow_back=-flow)*1e3:.3f}e-3 style={st:.4g}", flush=True)
