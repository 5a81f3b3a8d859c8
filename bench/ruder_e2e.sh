#!/usr/bin/env bash
# End-to-end `stylecast video --method ruder` at the paper's defaults (first frame 2000
# iterations, then 1000, tolerance stop, long-term J = {1,10,20,40}) on 6 full-size Sintel frames
# (1024x436, .gpu_data/sintel6 from bench/gpu_prepare.sh), then seconds per frame from the result
# files' times: frame 1 from the job's start (decode + flow + 2000 iterations), frames 2..6 each
# from the previous one. Extra arguments go to `stylecast video` (e.g. --device cpu --max-side 64;
# `--method fast` times the feed-forward method instead: then only the total is meaningful,
# its stages run over all frames one after the other).
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-python3}
work=$(mktemp -d)
w=${STYLECAST_VGG19_WEIGHTS:-.gpu_data/vgg19_imagenet_features.fp16.safetensors}
t0=$(date +%s.%N)
"$PY" -c "import sys; from models.cli import main; sys.exit(main())" video .gpu_data/sintel6 -o "$work/out" \
    --method ruder --style-image .gpu_data/udnie.jpg --loss-weights "$w" --keep-job "$@" 2>&1 | tr '\r' '\n' | grep -v '^ *$' | tail -n 4
echo "total: $("$PY" -c "import time; print(round(time.time() - $t0, 2))") s for $(ls .gpu_data/sintel6 | wc -l) frames (decode, flows, stylization, output)"
"$PY" - "$work/out.job" "$t0" <<'PY'
import sys
from pathlib import Path

job, t0 = Path(sys.argv[1]), float(sys.argv[2])
stages = [d for d in (job / "out").iterdir() if d.is_dir()]
if len(stages) != 1:
    sys.exit(0)  # several stages (fast: styl/fwd/bwd/fast) run over all frames in turn: no per-frame time
outs = sorted(stages[0].glob("*.png"), key=lambda p: p.stat().st_mtime)
prev, times = t0, []
for p in outs:
    times.append(p.stat().st_mtime - prev)
    prev = p.stat().st_mtime
print("| frame | s |\n|---:|---:|")
for i, t in enumerate(times, 1):
    print(f"| {i}{' (2000 it + decode + flow)' if i == 1 else ''} | {t:.2f} |")
if len(times) > 1:
    rest = times[1:]
    print(f"frames 2..{len(times)}: mean {sum(rest) / len(rest):.2f} s/frame, max {max(rest):.2f}")
PY
rm -rf "$work"
