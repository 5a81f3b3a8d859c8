"""Media I/O and offline-stylize throughput (CPU). Prints figures and ratios vs. baselines measured in the same run."""
import sys, time, tempfile
from pathlib import Path
import torch
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent / "shared" / "tools"))
import reference_nets as rn
from models.io import open_video, VideoWriter
from models.io.sample import sample_frames, sample_flow
from offline import stylize as st

torch.set_num_threads(2)
src = ROOT.parent / "shared" / "data" / "video" / "cockatoo_720p.mp4"
N = 60
t = time.perf_counter()
with open_video(src) as r:
    it = iter(r); frames = [next(it) for _ in range(N)]
dec = N / (time.perf_counter() - t)
print(f"decode 1280x720 h264 -> rgb24: {dec:.1f} frames/s")
with tempfile.TemporaryDirectory() as d:
    t = time.perf_counter()
    with VideoWriter(Path(d) / "o.mp4", width=1280, height=720, fps=20) as w:
        for f in frames: w.write(f)
    enc = N / (time.perf_counter() - t)
    print(f"encode 1280x720 libx264 crf18 yuv420p: {enc:.1f} frames/s ({enc/dec:.2f}x decode)")
    t = time.perf_counter(); s = sample_frames(48); ts = time.perf_counter() - t
    t = time.perf_counter(); sample_flow(48); tf = time.perf_counter() - t
    print(f"sample_frames(48, 240x320): {ts:.2f} s ({48/ts:.0f} frames/s); sample_flow: {tf:.2f} s")
    src_s = st.ArraySource(s)
    opts = st.StylizeOptions(batch_size=4, progress=False)
    ident = st.stylize_video(src_s, Path(d) / "i.mp4", stylizer=lambda x: x, options=opts)
    net = rn.load_style_net(str(ROOT.parent / "shared") + "/weights/fast_style/udnie.safetensors").eval()
    real = st.stylize_video(src_s, Path(d) / "u.mp4", stylizer=net, options=opts)
    print(f"stylize sample 48x240x320, identity stylizer (I/O only): {ident.frames/ident.seconds:.1f} frames/s")
    print(f"stylize sample 48x240x320, udnie net fp32 CPU: {real.frames/real.seconds:.2f} frames/s "
          f"(I/O share {100 * (ident.seconds / ident.frames) / (real.seconds / real.frames):.1f}%)")
