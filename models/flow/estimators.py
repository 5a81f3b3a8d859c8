"""Optical flow estimators behind one interface.

``FlowEstimator`` is any callable ``(frame_a, frame_b) -> flow`` with frames ``(N,3,H,W)`` RGB
in [0,1] and flow ``(N,2,H,W)`` float32 in pixels on frame_a's grid such that
``warp(frame_b, flow) ~= frame_a`` (i.e. the flow a->b). The returned flow lives on
frame_a's device.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from models.contracts import check_frames
from models.io.resize import fit_size


@runtime_checkable
class FlowEstimator(Protocol):
    def __call__(self, frame_a: Tensor, frame_b: Tensor) -> Tensor: ...


def gray_u8_tensor(frames: Tensor, size: tuple[int, int] | None = None) -> Tensor:
    """``(N,3,H,W)`` [0,1] -> ``(N,h,w)`` uint8 grey (ITU-R 601 luma) on the frames' device,
    optionally resized to ``size=(h, w)`` with area averaging."""
    x = frames.float()
    if size is not None and tuple(x.shape[-2:]) != tuple(size):
        x = F.interpolate(x, size=size, mode="area")
    luma = 0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]
    return (luma.clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)


def to_gray_u8(frames: Tensor, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """:func:`gray_u8_tensor` downloaded: a list of HxW uint8 grey images (resized on the device
    before the download, so only the small image crosses the bus)."""
    return [np.ascontiguousarray(g) for g in gray_u8_tensor(frames, size).cpu().numpy()]


def scaled_size(h: int, w: int, max_side: int | None) -> tuple[int, int]:
    """The flow's working size: longer side <= ``max_side``, any parity, >= 8 px."""
    return fit_size(h, w, max_side, multiple=1, min_side=8)


def flow_to_tensor(flows: list[np.ndarray] | np.ndarray, device: torch.device | str = "cpu") -> Tensor:
    """HxWx2 numpy flow(s) -> ``(N,2,H,W)`` float32 tensor on ``device``."""
    arr = np.stack(flows) if isinstance(flows, list) else (flows[None] if flows.ndim == 3 else flows)
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).permute(0, 3, 1, 2).contiguous().to(device)


def grey_pair_flow(
    calc: Callable[[np.ndarray, np.ndarray], np.ndarray], frame_a: Tensor, frame_b: Tensor, max_side: int | None
) -> Tensor:
    """Shared body of the OpenCV estimators: check the frames, convert to (downscaled) grey,
    run ``calc(grey_a, grey_b) -> HxWx2`` per pair, and return the flow at full size on
    frame_a's device."""
    check_frames(frame_a, "frame_a")
    check_frames(frame_b, "frame_b", like=frame_a)
    h, w = frame_a.shape[-2:]
    size = scaled_size(h, w, max_side)
    ga, gb = to_gray_u8(frame_a, size), to_gray_u8(frame_b, size)
    flows = [calc(a, b) for a, b in zip(ga, gb)]
    return upsample_flow(flow_to_tensor(flows, frame_a.device), (h, w))


def upsample_flow(flow: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize a pixel flow field to ``size=(h, w)``, rescaling vectors by the size ratio."""
    h0, w0 = flow.shape[-2:]
    h, w = size
    if (h0, w0) == (h, w):
        return flow
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=True)
    # Python-float scales, not a tensor: on CUDA a tensor made here is a blocking upload (a sync
    # per call in the GPU temporal step)
    return torch.cat((out[:, :1] * ((w - 1) / max(w0 - 1, 1)), out[:, 1:] * ((h - 1) / max(h0 - 1, 1))), 1)


# OpenCV DIS fails (cv2.error) or segfaults when a side is under 32 px and the other is much
# longer (e.g. 16x100, 24x1024: its coarsest pyramid level is then above the finest); measured
# with OpenCV 5.1 on every preset: any size with both sides >= 32 runs (up to 32x8192 tried).
DIS_MIN_SIDE = 32

_DIS_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


@dataclass(frozen=True)
class DISConfig:
    preset: str = "fast"
    max_side: int | None = 320  # estimate on a downscaled grey frame: flow is smooth, cost is ~area
    variational_iters: int | None = None  # None keeps the preset's value


class DISFlow:
    """OpenCV DIS optical flow (Kroeger et al., ECCV 2016) on downscaled grey frames.

    Not thread-safe: each thread/stream should own its instance (the OpenCV object keeps state).
    """

    def __init__(self, config: DISConfig | None = None) -> None:
        self.config = config or DISConfig()
        if self.config.preset not in _DIS_PRESETS:
            raise ValueError(f"DISFlow: preset must be one of {sorted(_DIS_PRESETS)}, got {self.config.preset!r}")
        self._dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[self.config.preset])
        if self.config.variational_iters is not None:
            self._dis.setVariationalRefinementIterations(self.config.variational_iters)

    def calc_gray(self, gray_a: np.ndarray, gray_b: np.ndarray) -> np.ndarray:
        """Flow a->b (HxWx2 float32, pixels of the grey images) between two HxW uint8 images.

        The live loop calls this directly: it keeps the previous frame's grey image and needs
        both directions (Ruder et al. forward-backward check), so each frame is converted once.
        """
        if gray_a.shape != gray_b.shape or gray_a.dtype != np.uint8 or gray_a.ndim != 2:
            raise ValueError(
                f"DISFlow.calc_gray: expected two HxW uint8 images of equal size, got "
                f"{gray_a.shape} {gray_a.dtype} and {gray_b.shape} {gray_b.dtype}"
            )
        h, w = gray_a.shape
        if h >= DIS_MIN_SIDE and w >= DIS_MIN_SIDE:
            return self._dis.calc(gray_a, gray_b, None)
        # DIS fails on narrow images (DIS_MIN_SIDE), but the
        # networks take any size >= 1 px: replicate the border up to DIS_MIN_SIDE and crop the
        # flow back. Replicated borders carry no motion, so the flow there is ~0, as it should be.
        ph, pw = max(0, DIS_MIN_SIDE - h), max(0, DIS_MIN_SIDE - w)
        pad = [cv2.copyMakeBorder(g, 0, ph, 0, pw, cv2.BORDER_REPLICATE) for g in (gray_a, gray_b)]
        return np.ascontiguousarray(self._dis.calc(pad[0], pad[1], None)[:h, :w])

    def __call__(self, frame_a: Tensor, frame_b: Tensor) -> Tensor:
        return grey_pair_flow(self.calc_gray, frame_a, frame_b, self.config.max_side)
