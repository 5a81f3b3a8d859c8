"""DeepFlow optical flow (Weinzaepfel et al., ICCV 2013) behind :class:`models.flow.FlowEstimator`.

Ruder et al. (2016) used DeepFlow/EpicFlow for their offline results: slower than DIS (seconds
per frame pair on a CPU at Sintel size) but more accurate on large displacements, so it is the
"quality" option of the offline pipeline. Backed by ``cv2.optflow.createOptFlow_DeepFlow`` from
opencv-contrib; like :class:`models.flow.DISFlow` it runs on (optionally downscaled) grey frames
and returns the flow a->b on frame_a's grid, upsampled to full size.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import Tensor

from models.contracts import check_frames
from models.flow import scaled_size, to_gray_u8, upsample_flow


@dataclass(frozen=True)
class DeepFlowConfig:
    max_side: int | None = 1024  # DeepFlow cost grows ~linearly with area; Sintel is 1024 wide


class DeepFlow:
    """OpenCV-contrib DeepFlow. Not thread-safe: one instance per thread."""

    def __init__(self, config: DeepFlowConfig | None = None) -> None:
        self.config = config or DeepFlowConfig()
        if not hasattr(cv2, "optflow"):
            raise RuntimeError("DeepFlow needs opencv-contrib (cv2.optflow is missing); install opencv-contrib-python-headless")
        self._df = cv2.optflow.createOptFlow_DeepFlow()

    def __call__(self, frame_a: Tensor, frame_b: Tensor) -> Tensor:
        check_frames(frame_a, "frame_a")
        check_frames(frame_b, "frame_b", like=frame_a)
        h, w = frame_a.shape[-2:]
        size = scaled_size(h, w, self.config.max_side)
        ga, gb = to_gray_u8(frame_a, size), to_gray_u8(frame_b, size)
        flows = [self._df.calc(a, b, None) for a, b in zip(ga, gb)]
        flow = torch.from_numpy(np.stack(flows).astype(np.float32)).permute(0, 3, 1, 2).contiguous()
        return upsample_flow(flow.to(frame_a.device), (h, w))
