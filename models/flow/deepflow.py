"""DeepFlow optical flow (Weinzaepfel et al., ICCV 2013) behind :class:`models.flow.estimators.FlowEstimator`.

Ruder et al. (2016) used DeepFlow/EpicFlow for their offline results: slower than DIS (seconds
per frame pair on a CPU at Sintel size) but more accurate on large displacements, so it is the
"quality" option of the offline pipeline. Backed by ``cv2.optflow.createOptFlow_DeepFlow`` from
opencv-contrib; like :class:`models.flow.estimators.DISFlow` it runs on (optionally downscaled) grey frames
and returns the flow a->b on frame_a's grid, upsampled to full size.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
from torch import Tensor

from models.flow.estimators import grey_pair_flow


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
        return grey_pair_flow(lambda a, b: self._df.calc(a, b, None), frame_a, frame_b, self.config.max_side)
