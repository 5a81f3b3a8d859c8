#!/usr/bin/env bash
# Every GPU-only check of docs/benchmarks.md ("GPU runs to do") in ONE device call, in priority
# order, each step time-boxed so the whole stays under ~560 s. Results: $OUT/summary.txt, one
# log per step, $OUT/gpu_bench.md. Needs only torch (+triton), numpy, opencv, safetensors: no
# av/aiortc. Prepare with bench/gpu_prepare.sh here, then on the device:
#     bash bench/gpu_session.sh            (carry .gpu_data)
#     SMOKE=1 bash bench/gpu_session.sh    (here, on the CPU: every step tiny, checks the plumbing)
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu_session}
PY=${PY:-python3}
LOGS=${LOGS:-/tmp/gpu_session_logs}  # per-step logs, tarred into $OUT/logs.tgz after each step
mkdir -p "$OUT" "$LOGS"
: > "$OUT/summary.txt"
[ -f .gpu_data/vgg19_imagenet_features.fp16.safetensors ] &&
    export STYLECAST_VGG19_WEIGHTS=$PWD/.gpu_data/vgg19_imagenet_features.fp16.safetensors
[ -f .gpu_data/lite0.fp16.pth ] && export STYLECAST_LITE0_WEIGHTS=$PWD/.gpu_data/lite0.fp16.pth

step() {  # step NAME LIMIT_S CMD...: run, keep its log, print its tail (only the $STEPS named, if set)
    local name=$1 limit=$2 t0=$SECONDS rc
    shift 2
    if [ -n "${STEPS:-}" ] && [[ " $STEPS " != *" $name "* ]]; then return; fi
    timeout "$limit" "$@" > "$LOGS/$name.log" 2>&1
    rc=$?
    echo "== $name: rc=$rc in $((SECONDS - t0)) s (limit $limit s)" | tee -a "$OUT/summary.txt"
    tail -n 25 "$LOGS/$name.log"
    # one archive, not one file per step: a device call returns at most 8 files
    tar czf "$OUT/logs.tgz" -C "$LOGS" .
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || true
  "$PY" -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
  echo "vgg19: ${STYLECAST_VGG19_WEIGHTS:-none}; lite0: ${STYLECAST_LITE0_WEIGHTS:-package}"
} | tee "$OUT/device.txt"

if [ "${SMOKE:-0}" = 1 ]; then
    # the GPU image has no PyAV / aiortc: make importing them fail here too
    mkdir -p /tmp/stylecast_noav/av /tmp/stylecast_noav/aiortc
    for m in av aiortc; do echo "raise ImportError('$m is absent on the GPU image')" > /tmp/stylecast_noav/$m/__init__.py; done
    export PYTHONPATH=/tmp/stylecast_noav${PYTHONPATH:+:$PYTHONPATH}
    step tests 120 "$PY" -m pytest -q -p no:cacheprovider tests/backends/test_backends.py tests/backends/test_gpu_pipeline.py tests/offline/test_lbfgs.py tests/offline/test_ruder_fast_paths.py tests/backends/test_accelerated.py -m cuda
    step gpu_bench 120 "$PY" bench/gpu_bench.py --device cpu --out "$OUT/gpu_bench.md" --sizes 240p --iters 2 \
        --streams 1 --budget-s 40
    step ruder 90 "$PY" bench/ruder_gpu.py --device cpu --size 128x64 --iterations 2
    step ruder_default 30 "$PY" bench/ruder_gpu.py --device cpu --size 64x32 --iterations 3 --optimizers lbfgs --no-fast \
        --variants default fp32
    step ruder_e2e 60 bash bench/ruder_e2e.sh --device cpu --max-side 64 --iterations 2 --first-iterations 2
    step train_speed 90 "$PY" bench/train_speed.py --device cpu --size 64 --batch 2 --steps 2 \
        --variants fp32 --loss-nets vgg19_relu4_1 efficientnet_lite0
    step live_overhead 60 "$PY" bench/live_overhead.py --device cpu --sizes 160x120 --reps 2
    step color 30 "$PY" bench/color_overhead.py --device cpu --sizes 160x120 --iters 2
    step lbfgs 60 "$PY" bench/lbfgs_overhead.py --device cpu --size 128x54 --fill 110 --iters 10
    step stages 60 "$PY" bench/pipeline_stages.py --device cpu --size 160x120 --iters 3 --no-profile --variants eager-fp32
    step flow_torch 60 "$PY" bench/flow_torch.py --device cpu --sizes 160x120 --reps 2 --timing-only
    step engine_live 60 "$PY" bench/live_engine.py --device cpu --size 160x120 --preset light --frames 4 --warmup 1
    step engine_serve 60 "$PY" bench/serve_engine.py --device cpu --size 160x120 --preset light --peers 1,2 --seconds 1
else
    # issue #16 (one engine, render scale, compiled serve): its targets first when run alone with
    # STEPS="engine_tests engine_live engine_serve". Targets: live 1080p standard + temporal <= 5 ms
    # per frame; serve 8 mirror peers 720p30 p99 <= 33 ms, every peer at 30 fps; 16 peers 720p30.
    step engine_tests 90 env STYLECAST_REQUIRE_CUDA=1 "$PY" -m pytest -q -p no:cacheprovider \
        tests/backends/test_gpu_pipeline.py tests/backends/test_guided.py tests/stream/test_server_compile.py
    step engine_live 120 "$PY" bench/live_engine.py --device cuda --size 1920x1080 --preset standard --frames 300 \
        --scales default,1
    step engine_serve 240 "$PY" bench/serve_engine.py --device cuda --size 1280x720 --preset standard --peers 1,8,16 \
        --fps 30 --seconds 10 --backend compile --cache-dir /tmp/stylecast_compile_cache --second-start
    # the open issue's figures (#6: Ruder s/frame, L-BFGS) next, in case the call is cut short
    step ruder 60 "$PY" bench/ruder_gpu.py --device cuda
    step ruder_default 110 "$PY" bench/ruder_gpu.py --device cuda --iterations 1000 --optimizers lbfgs --no-fast \
        --variants default before fp32
    step ruder_e2e 150 bash bench/ruder_e2e.sh --device cuda
    step fast_e2e 60 bash bench/ruder_e2e.sh --device cuda --method fast
    step lbfgs 35 "$PY" bench/lbfgs_overhead.py --device cuda
    step tests 75 env STYLECAST_REQUIRE_CUDA=1 "$PY" -m pytest -q -p no:cacheprovider -m cuda \
        tests/backends/test_backends.py tests/backends/test_gpu_pipeline.py tests/offline/test_lbfgs.py tests/offline/test_ruder_fast_paths.py tests/backends/test_accelerated.py
    step tests_matrix 30 "$PY" -m pytest -q -p no:cacheprovider -k cuda tests/nets/test_color.py tests/flow/test_warp_consistency.py \
        tests/flow/test_flow_torch.py
    # issue 16.3: torch flow vs CPU DIS, and the whole temporal step with each, at 720p/1080p
    step flow_torch 45 "$PY" bench/flow_torch.py --device cuda --sizes 1280x720 1920x1080 --reps 50 --timing-only
    step gpu_bench 150 "$PY" bench/gpu_bench.py --out "$OUT/gpu_bench.md" --budget-s 120
    step stages 60 "$PY" bench/pipeline_stages.py --device cuda --size 1920x1080 --iters 20 --no-profile
    # the bundled styles are `light` networks: what `stylecast live` runs by default
    step gpu_bench_light 90 "$PY" bench/gpu_bench.py --out "$OUT/gpu_bench_light.md" --preset light --sizes 720p,1080p \
        --variants eager-fp32,eager-fp16,compile-ro-fp16-cl --streams 1,4 --budget-s 70
    step train_speed 70 "$PY" bench/train_speed.py --device cuda --preset standard --size 256 --batch 16 64 \
        --variants fp32 bf16 bf16+cl --loss-nets vgg19_relu4_1 efficientnet_lite0
    step live_overhead 35 "$PY" bench/live_overhead.py --device cuda --sizes 1280x720 1920x1080
    step color 20 "$PY" bench/color_overhead.py --device cuda --sizes 1280x720 1920x1080
fi
cat "$OUT/summary.txt"
