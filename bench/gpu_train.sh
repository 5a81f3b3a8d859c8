#!/usr/bin/env bash
# On a lent GPU, in ONE call: the `standard` bundled set (issue #8), each style time-boxed;
# with the issue #17 knobs below (temporal training, stroke size) the v2 set.
# Here first: bash bench/gpu_prepare.sh && .venv/bin/python bench/gpu_train_prepare.py, then
#     run(command="bash bench/gpu_train.sh", carry=[".gpu_data", ".gpu_train"], timeout_s=590)
# Each style of .gpu_train/styles.tsv trains with its bundled loss net and style weight
# (standard preset, 256 px, batch 16) for PER_STYLE seconds (SIGINT: training saves its state),
# then the reached step is exported fp16 with the bundled file's description/licence as
# <name>.safetensors (+ .json, + the log), packed two styles per archive, $OUT/train_K.tgz (a device
# call returns at most 8 files of 16 MiB: 24 loose files would not come back). Evaluate here with
# bench/style_reference.py --ours wave=OUT/wave.safetensors ... and bench/live_quality.py.
#     SMOKE=1 bash bench/gpu_train.sh   (here, on the CPU: tiny and short, checks the plumbing)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu_train}
PY=${PY:-python3}
WORK=${WORK:-/tmp/stylecast_gpu_train}
if [ "${SMOKE:-0}" = 1 ]; then
    DEVICE=cpu SIZE=32 BATCH=1 PER_STYLE=${PER_STYLE:-5}
else
    DEVICE=cuda SIZE=${SIZE:-256} BATCH=${BATCH:-16} PER_STYLE=${PER_STYLE:-55}
fi
# Style networks v2 (issue #17), all optional: TEMPORAL_WEIGHT / TEMPORAL_FEATURE_WEIGHT (temporal
# training; pairs from the still content moved by known motion), STYLE_SCALE (stroke size),
# INIT_FROM=bundled (fine-tune each style from its bundled weights instead of from scratch: the
# bundled nets are the light preset, so with PRESET=light; default PRESET=standard).
PRESET=${PRESET:-standard}
V2_ARGS=()
[ -n "${TEMPORAL_WEIGHT:-}" ] && V2_ARGS+=(--temporal-weight "$TEMPORAL_WEIGHT")
[ -n "${TEMPORAL_FEATURE_WEIGHT:-}" ] && V2_ARGS+=(--temporal-feature-weight "$TEMPORAL_FEATURE_WEIGHT")
[ -n "${STYLE_SCALE:-}" ] && V2_ARGS+=(--style-scale "$STYLE_SCALE")
STAGE=$WORK/out  # per-style results; $OUT only gets the archives and summary.txt
mkdir -p "$OUT" "$WORK" "$STAGE"
[ -f .gpu_data/vgg19_imagenet_features.fp16.safetensors ] &&
    export STYLECAST_VGG19_WEIGHTS=$PWD/.gpu_data/vgg19_imagenet_features.fp16.safetensors
[ -f .gpu_data/lite0.fp16.pth ] && export STYLECAST_LITE0_WEIGHTS=$PWD/.gpu_data/lite0.fp16.pth
[ -f .gpu_train/styles.tsv ] || { echo "gpu_train: run bench/gpu_train_prepare.py first" >&2; exit 2; }
{ nvidia-smi --query-gpu=name,memory.total --format=csv 2>&1 || true
  echo "device=$DEVICE size=$SIZE batch=$BATCH per_style=${PER_STYLE}s v2: ${V2_ARGS[*]} init=${INIT_FROM:-scratch}"; } | tee "$OUT/summary.txt"

i=0
pair=()
while IFS=$'\t' read -r name img loss sw pc; do
    [ -n "$name" ] || continue
    i=$((i + 1))
    rm -rf "$WORK/$name.safetensors" "$WORK/$name.safetensors.work"
    init=()
    [ "${INIT_FROM:-}" = bundled ] && init=(--init-from "models/styles/$name.safetensors")
    t0=$SECONDS
    timeout -s INT "$PER_STYLE" "$PY" -m models.cli train --style ".gpu_train/styles/$img" \
        --content .gpu_train/content --preset "$PRESET" --loss-net "$loss" --style-weight "$sw" \
        --size "$SIZE" --batch-size "$BATCH" --steps 100000 --lr 1e-3 --device "$DEVICE" \
        --checkpoint-every 500 --preview-every 100000 "${V2_ARGS[@]}" "${init[@]}" -o "$WORK/$name.safetensors" > "$STAGE/$name.log" 2>&1
    rc=$?
    "$PY" - "$name" "$pc" "$WORK" "$STAGE" >> "$STAGE/$name.log" 2>&1 <<'PY'
import json, sys
from pathlib import Path
from models.training.loop import export_state
name, pc, work, out = sys.argv[1], float(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
meta = json.loads(Path(f"models/styles/{name}.json").read_text())
dst = export_state(work / f"{name}.safetensors.work" / "state.pt", out / f"{name}.safetensors", name=name,
                   description=meta["description"], license=meta["license"], preserve_color=pc)
print("exported", dst, json.loads(dst.with_suffix(".json").read_text())["training"]["steps"], "steps")
PY
    echo "== $name ($loss, sw $sw): train rc=$rc, export rc=$?, $((SECONDS - t0)) s: $(tail -n 1 "$STAGE/$name.log")" |
        tee -a "$OUT/summary.txt"
    pair+=("$name")
    files=()
    for n in "${pair[@]}"; do for f in "$n.safetensors" "$n.json" "$n.log"; do
        [ -f "$STAGE/$f" ] && files+=("$f"); done; done
    tar czf "$OUT/train_$(((i + 1) / 2)).tgz" -C "$STAGE" "${files[@]}"  # rewritten after each style: a cut call keeps what finished
    [ $((i % 2)) = 0 ] && pair=()
done < .gpu_train/styles.tsv
