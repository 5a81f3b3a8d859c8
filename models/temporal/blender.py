"""Real-time temporal consistency for per-frame stylization (the live pipeline's blend).

Per-frame feed-forward stylization flickers: tiny input changes flip texture strokes. Following
the short-term part of Ruder, Dosovitskiy & Brox 2016 ("Artistic style transfer for videos"),
but without any optimisation, each new output leans on the previous *output* warped along the
optical flow of the *input* video:

1. flow between the previous and current input frames (OpenCV DIS on a downscaled grey frame,
   :mod:`models.flow.estimators`; the backward one, or both directions for the full
   forward-backward check, ``TemporalConfig.check``);
2. per-pixel confidence c (:mod:`models.flow.consistency`: disocclusions, motion boundaries and
   out-of-frame pixels get 0), computed at the flow resolution and upsampled bilinearly so mask
   edges are soft;
3. ``out = fresh + strength * c * (warp(prev_out) - fresh)`` (:func:`models.flow.warp.blend`, the
   history warped with bicubic interpolation so it does not blur a little more every frame):
   confident pixels keep the previous strokes, occluded pixels take the fresh stylization;
4. the detail energy the blend averaged away is put back (:func:`restore_lost_detail`).

A scene cut (:mod:`models.temporal.scenecut`) resets the history. One :class:`TemporalBlender` holds the
state of one stream; give each stream / peer its own instance (not thread-safe).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from models.contracts import check_frames
from models.flow.consistency import consistency_weights, motion_boundary
from models.flow.estimators import DISConfig, DISFlow, FlowEstimator, flow_to_tensor, gray_u8_tensor, scaled_size, to_gray_u8, upsample_flow
from models.flow.torch_dis import TorchFlow, TorchFlowConfig, to_grey
from models.flow.warp import blend, inside_mask, warp
from models.temporal.detail import restore_detail, restore_lost_detail
from models.temporal.scenecut import gray_histogram, gray_histogram_tensor, is_scene_cut, scene_cut_tensor

CHECKS = ("fwd-bwd", "bwd")
DETAIL_TARGETS = ("fresh", "lost")
RESAMPLING = ("bilinear", "bicubic")
FLOWS = ("auto", "dis", "torch")
FLOW_ENV = "STYLECAST_FLOW"  # dis|torch|auto: what flow="auto" means (e.g. DIS on a GPU, to compare)


@dataclass(frozen=True)
class TemporalConfig:
    """Settings of the live temporal blend. Why each default is what it is, with the measurements
    behind it: docs/live.md, "Why the defaults".

    strength: how much reliable pixels lean on the warped previous output, in [0,1].
    flow_preset / flow_max_side: DIS preset and the longer side of the grey frames the flow is
        estimated on (cost scales with area; precision sets how well the history lands on the
        network's strokes at large frame sizes: a 640 px grid upsampled 2x left 720p at ~0.4x of
        per-frame flicker, the full-size grid at <= 0.3x; docs/bench/live.md §6i).
    flow_variational_iters: DIS variational refinement iterations (None: the preset's, 5 for
        "medium"); fewer are cheaper (2: ~-4 ms per flow at 480x360) but flicker more (tuning
        half E_warp median 0.35 -> 0.37, docs/bench/render_scale.md §9f).
    check: "fwd-bwd" is the full Ruder et al. test (two flows per frame); "bwd" uses only the
        backward flow (motion boundaries + out-of-frame), half the flow cost.
    scene_cut_threshold: histogram distance in [0,1] above which history is dropped.
    photometric_threshold: grey-level difference in [0,1] between the current input and the
        flow-warped previous input above which a pixel is also unreliable (None disables): DIS
        smooths flow across object edges, so a freshly uncovered strip inherits the object's
        motion and passes the forward-backward test (Chen et al. 2017's mask catches it).
    preserve_contrast: restore the local detail energy a blend of two misaligned stroke patterns
        loses (variance adds with squared weights; applied recursively it washes the style out),
        after Heitz & Neyret 2018's variance-preserving blending.
    detail_window: box size (px) separating "detail" from local mean for that correction.
    detail_target: "lost" puts back only the energy the lerp removed,
        alpha*(1-alpha)*|d_fresh - d_warped|^2 (zero where the two patterns agree); "fresh" raises
        the blend's energy to the fresh frame's (the earlier rule).
    history_resampling: "bicubic" or "bilinear" interpolation of the previous output when warping
        it; bilinear blurs the history a little on every frame, recursively.
    flow: "dis" (OpenCV DIS on the CPU), "torch" (:class:`models.flow.torch_dis.TorchFlow` on the
        frames' device: on CUDA flow, check, warp and blend stay on the GPU, no host round trip)
        or "auto": torch for CUDA frames, DIS otherwise. STYLECAST_FLOW=dis|torch overrides
        "auto". flow_preset applies to DIS only.
    """

    strength: float = 0.92
    flow_preset: str = "medium"
    flow_max_side: int = 1280
    flow_variational_iters: int | None = None  # DIS refinement iterations; None = the preset's (medium: 5)
    check: str = "fwd-bwd"
    scene_cut_threshold: float = 0.4
    photometric_threshold: float | None = 0.08
    preserve_contrast: bool = True
    detail_window: int = 3
    detail_target: str = "lost"
    history_resampling: str = "bicubic"
    flow: str = "auto"

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ValueError(f"TemporalConfig: strength must be in [0,1], got {self.strength}")
        if self.check not in CHECKS:
            raise ValueError(f"TemporalConfig: check must be one of {CHECKS}, got {self.check!r}")
        if not 0.0 < self.scene_cut_threshold <= 1.0:
            raise ValueError(f"TemporalConfig: scene_cut_threshold must be in (0,1], got {self.scene_cut_threshold}")
        if self.photometric_threshold is not None and not 0.0 < self.photometric_threshold <= 1.0:
            raise ValueError(f"TemporalConfig: photometric_threshold must be in (0,1] or None, got {self.photometric_threshold}")
        if self.history_resampling not in RESAMPLING:
            raise ValueError(f"TemporalConfig: history_resampling must be one of {RESAMPLING}, got {self.history_resampling!r}")
        if self.detail_target not in DETAIL_TARGETS:
            raise ValueError(f"TemporalConfig: detail_target must be one of {DETAIL_TARGETS}, got {self.detail_target!r}")
        if self.flow not in FLOWS:
            raise ValueError(f"TemporalConfig: flow must be one of {FLOWS}, got {self.flow!r}")
        if self.flow_max_side < 16:
            raise ValueError(f"TemporalConfig: flow_max_side must be >= 16, got {self.flow_max_side}")


class TemporalBlender:
    """Stateful per-stream blender: ``blender(frame_in, stylized) -> output`` (all ``(1,3,H,W)``).

    ``flow``: an injected :class:`models.flow.estimators.FlowEstimator` (full-resolution frames in, flow out)
    replaces the built-in DIS path; by default a :class:`DISFlow` with the config's settings is
    used through its grey-image fast path (each frame converted once, reused for both flow
    directions and the next frame).
    """

    def __init__(self, config: TemporalConfig | None = None, flow: FlowEstimator | None = None) -> None:
        self.config = config or TemporalConfig()
        self._custom_flow = flow
        self._dis = DISFlow(DISConfig(preset=self.config.flow_preset, max_side=self.config.flow_max_side,
                                      variational_iters=self.config.flow_variational_iters))
        # STYLECAST_FLOW_CUDA_GRAPH=1: the torch flow replayed from CUDA graphs (experimental)
        graphed = os.environ.get("STYLECAST_FLOW_CUDA_GRAPH") == "1"
        self._torch_flow = TorchFlow(TorchFlowConfig(max_side=self.config.flow_max_side, cuda_graph=graphed))
        self._flow_choice = _resolve_flow(self.config.flow)
        self._executor: ThreadPoolExecutor | None = None  # the CPU flow's worker thread, made on first prefetch
        self._dis_lock = threading.Lock()  # one DIS instance: a flow discarded by reset() may still be running
        # prefetch() may run on another thread than __call__ (FrameEngine's CPU finisher blends
        # frame t while frame t+1 is prefetched): the prefetch bookkeeping is shared under this lock
        self._lock = threading.Lock()
        self.scene_cuts = 0
        self.last_confidence: Tensor | None = None  # (1,1,H,W) of the last blend, for display/debug
        self.reset()

    def reset(self) -> None:
        """Forget the history (new stream, scene cut, seek)."""
        with self._lock:
            self._prev_in: Tensor | None = None
            self._prev_key: tuple | None = None
            self._prev_gray: np.ndarray | None = None
            self._prev_hist: np.ndarray | None = None
            self._prev_out: Tensor | None = None
            # prefetch(): frame key -> (grey frame, CUDA event, CPU flow future, key of the frame it
            # was computed against); and (key, grey) of the last frame prefetched, the next one's partner
            self._prefetched: dict[tuple, tuple[Tensor, "torch.cuda.Event | None", Future | None, tuple | None]] = {}
            self._last_prefetched: tuple[tuple, np.ndarray] | None = None
            self._pending_flow: Future | None = None  # (flow, confidence) of the frame being blended (CPU prefetch)

    def uses_torch_flow(self, frame_in: Tensor) -> bool:
        """Whether frames like ``frame_in`` take the torch flow path (see ``TemporalConfig.flow``)."""
        if self._custom_flow is not None:
            return False
        return self._flow_choice == "torch" or (self._flow_choice == "auto" and frame_in.is_cuda)

    @property
    def scene_cuts(self) -> int:
        """Scene cuts so far (reading it syncs with the device when the torch path found any)."""
        if self._cuts_on_device is not None:
            self._scene_cuts += int(self._cuts_on_device.item())
            self._cuts_on_device = None
        return self._scene_cuts

    @scene_cuts.setter
    def scene_cuts(self, value: int) -> None:
        # _cuts_on_device: cuts found by the torch path, not yet read back (a 0-d int64 tensor)
        self._scene_cuts, self._cuts_on_device = value, None

    def prefetch(self, frame_in: Tensor) -> None:
        """Optional: call with the frame *before* queueing its stylization (results are the same).

        Why: the flow depends only on the input frames, not on the network's output, so it can
        run while the network runs.
        - On CUDA the flow's small grey copy, made inside ``__call__``, would be queued behind the
          stylizer's kernels and wait for the whole network. Queued here first (a non-blocking
          copy into pinned memory plus an event), ``__call__`` waits only for the copy.
        - On the CPU both DIS flows and the confidence mask are computed here on the blender's
          own worker thread (OpenCV and PyTorch release the GIL), so they and the network share
          the cores instead of taking turns; ``__call__`` waits for them. A scene cut found in
          ``__call__`` discards them.
        Frames may be prefetched one ahead of the blend (frame t+1 while t is blended, possibly
        on another thread): the flow of a prefetched frame is computed against the frame
        prefetched before it, and ``__call__`` uses it only if that frame is the one it blended last."""
        check_frames(frame_in, "frame_in")
        if self.uses_torch_flow(frame_in):
            return  # the torch flow reads the frame where it is: nothing to download
        h, w = frame_in.shape[-2:]
        small = gray_u8_tensor(frame_in[:1], scaled_size(h, w, self.config.flow_max_side))
        key = _frame_key(frame_in)
        event = None
        if small.is_cuda:
            host = torch.empty(small.shape, dtype=torch.uint8, pin_memory=True)
            host.copy_(small, non_blocking=True)
            event = torch.cuda.Event()
            event.record()
            small = host
        with self._lock:
            future, partner = None, None
            if event is None:
                gray = np.ascontiguousarray(small.numpy()[0])
                prev = self._last_prefetched
                if (self._custom_flow is None and self.config.strength > 0.0 and prev is not None
                        and prev[1].shape == gray.shape):
                    partner = prev[0]
                    future = self._flow_worker().submit(self._dis_flow_and_confidence, gray, prev[1],
                                                        (h, w), frame_in.device)
                self._last_prefetched = (key, gray)
            while len(self._prefetched) >= 4:  # prefetched but never blended (a dropped frame)
                self._prefetched.pop(next(iter(self._prefetched)))
            self._prefetched[key] = (small, event, future, partner)

    def _flow_worker(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stylecast-flow")
        return self._executor

    def _gray(self, frame_in: Tensor) -> np.ndarray:
        """The grey flow input of ``frame_in``: the prefetched one if it is for this frame (its
        flows, when started against the frame blended last, become ``_pending_flow``)."""
        key = _frame_key(frame_in)
        with self._lock:
            pre = self._prefetched.pop(key, None)
            if pre is None:  # not prefetched: the chain is broken, the next prefetched frame starts
                self._last_prefetched = None  # a new one (its flows are computed in its own call)
        self._pending_flow = None
        if pre is not None:
            small, event, future, partner = pre
            if event is not None:
                event.synchronize()  # the small copy only, not the stylizer queued after it
            gray = np.ascontiguousarray(small.cpu().numpy()[0])
            if future is not None and partner is not None and partner == self._prev_key:
                self._pending_flow = future
            return gray
        h, w = frame_in.shape[-2:]
        return to_gray_u8(frame_in, scaled_size(h, w, self.config.flow_max_side))[0]

    def __call__(self, frame_in: Tensor, stylized: Tensor) -> Tensor:
        check_frames(frame_in, "frame_in")
        check_frames(stylized, "stylized", like=frame_in)
        if frame_in.shape[0] != 1 or stylized.shape[0] != 1:
            raise ValueError(f"TemporalBlender: expected one frame (1,3,H,W), got {tuple(frame_in.shape)} and {tuple(stylized.shape)}")
        if stylized.shape != frame_in.shape:
            raise ValueError(f"TemporalBlender: stylized {tuple(stylized.shape)} must match frame_in {tuple(frame_in.shape)}")
        on_device = self.uses_torch_flow(frame_in)
        if on_device:  # grey frame, histogram and cut test stay on the device (no sync)
            h, w = frame_in.shape[-2:]
            gray = to_grey(frame_in, scaled_size(h, w, self.config.flow_max_side))
            hist = gray_histogram_tensor(gray)
        else:
            gray = self._gray(frame_in)
            hist = gray_histogram(gray)
        fresh_start = (
            self._prev_out is None
            or self._prev_out.shape != stylized.shape
            or self._prev_out.device != stylized.device
            or isinstance(self._prev_gray, Tensor) != on_device
        )
        cut = None
        if not fresh_start and on_device:
            # branch-free: a cut zeroes the confidence below, so the blend returns the fresh frame
            cut = scene_cut_tensor(self._prev_hist, hist, self.config.scene_cut_threshold)
            counted = cut.to(torch.int64)
            self._cuts_on_device = counted if self._cuts_on_device is None else self._cuts_on_device + counted
        elif not fresh_start and is_scene_cut(self._prev_hist, hist, self.config.scene_cut_threshold):
            self.scene_cuts += 1
            fresh_start = True
        if fresh_start or self.config.strength == 0.0:
            out = stylized
            self.last_confidence = torch.zeros_like(stylized[:, :1])
        else:
            flow_bwd, conf = self._flow_and_confidence(frame_in, gray)
            if cut is not None:
                conf = conf * (~cut).to(conf.dtype)
            if self.config.history_resampling == "bicubic":
                warped = _warp_bicubic(self._prev_out, flow_bwd)
            else:
                warped = warp(self._prev_out, flow_bwd)
            out = blend(stylized, warped, conf.to(stylized.dtype), strength=self.config.strength)
            if self.config.preserve_contrast and self.config.detail_target == "lost":
                out = restore_lost_detail(out, stylized, warped, conf * self.config.strength, window=self.config.detail_window)
            elif self.config.preserve_contrast:
                out = restore_detail(out, stylized, window=self.config.detail_window)
            self.last_confidence = conf
        self._prev_in, self._prev_gray, self._prev_hist = frame_in, gray, hist
        self._prev_key = _frame_key(frame_in)
        self._prev_out = out.detach()
        return out

    def _flow_and_confidence(self, frame_in: Tensor, gray: np.ndarray | Tensor) -> tuple[Tensor, Tensor]:
        """Backward flow cur->prev at full size and the confidence mask, both on frame_in's device."""
        h, w = frame_in.shape[-2:]
        if self._custom_flow is not None:
            bwd = self._custom_flow(frame_in, self._prev_in).float()
            fwd = self._custom_flow(self._prev_in, frame_in).float() if self.config.check == "fwd-bwd" else None
            return self._confidence(bwd, fwd, _luma(frame_in), _luma(self._prev_in), (h, w))
        if isinstance(gray, Tensor):
            # torch flow on the frames' device; both directions in one batched call
            prev = self._prev_gray
            if self.config.check == "fwd-bwd":
                bwd, fwd = self._torch_flow.grey_flow(torch.cat((gray, prev)), torch.cat((prev, gray))).split(1)
            else:
                bwd, fwd = self._torch_flow.grey_flow(gray, prev), None
            return self._confidence(bwd, fwd, gray, prev, (h, w))
        pending, self._pending_flow = self._pending_flow, None
        if pending is not None:  # started by prefetch() while the network ran
            return pending.result()
        return self._dis_flow_and_confidence(gray, self._prev_gray, (h, w), frame_in.device)

    def _dis_flow_and_confidence(self, gray: np.ndarray, prev: np.ndarray, size: tuple[int, int],
                                 device: torch.device) -> tuple[Tensor, Tensor]:
        """The DIS path: both flows on the grey grid, then the mask. It needs only the input
        frames, so on the CPU prefetch() runs all of it on the worker thread during the network.
        Low-resolution flow and mask: the check is per-pixel arithmetic, so computing it on the
        DIS grid costs (flow_max_side/W)^2 of full resolution; the mask is upsampled afterwards."""
        with self._dis_lock:
            bwd = flow_to_tensor(self._dis.calc_gray(gray, prev), device)
            fwd = flow_to_tensor(self._dis.calc_gray(prev, gray), device) if self.config.check == "fwd-bwd" else None
        return self._confidence(bwd, fwd, _gray_tensor(gray, device), _gray_tensor(prev, device), size)

    def _confidence(self, bwd: Tensor, fwd: Tensor | None, g_cur: Tensor, g_prev: Tensor,
                    size: tuple[int, int]) -> tuple[Tensor, Tensor]:
        """(backward flow, confidence) at ``size`` from the flows on their grid (module doc, step 2)."""
        if fwd is not None:
            conf = consistency_weights(bwd, fwd)
        else:
            conf = (~motion_boundary(bwd)).float() * inside_mask(bwd)
        if self.config.photometric_threshold is not None:
            err = (warp(g_prev, bwd) - g_cur).abs()
            conf = conf * (err <= self.config.photometric_threshold).float()
        if tuple(bwd.shape[-2:]) != tuple(size):
            bwd = upsample_flow(bwd, size)
            conf = F.interpolate(conf, size=size, mode="bilinear", align_corners=False)
        return bwd, conf


def _resolve_flow(flow: str) -> str:
    if flow != "auto":
        return flow
    env = os.environ.get(FLOW_ENV, "auto").strip().lower() or "auto"
    if env not in FLOWS:
        raise ValueError(f"{FLOW_ENV} must be one of {FLOWS}, got {env!r}")
    return env


def prefetch_flow_input(blender: object, frame_in: Tensor) -> None:
    """Call before queueing ``frame_in``'s stylization: :meth:`TemporalBlender.prefetch` when
    ``blender`` has it (a blender is any ``(frame_in, stylized) -> output`` callable; others
    are left alone)."""
    prefetch = getattr(blender, "prefetch", None)
    if prefetch is not None:
        prefetch(frame_in)


def _frame_key(frame: Tensor) -> tuple:
    # Same storage, place, shape and (outside inference mode, which keeps none) version counter:
    # the same frame, not modified in place since.
    version = None if frame.is_inference() else frame._version
    return (frame.device, frame.data_ptr(), tuple(frame.shape), tuple(frame.stride()), frame.dtype, version)


def _warp_bicubic(image: Tensor, flow: Tensor) -> Tensor:
    """:func:`models.flow.warp.warp` with bicubic interpolation (less blur per warp), in float32 (a
    half-precision grid is too coarse for sub-pixel positions at 1080p), clamped to [0,1]
    because the cubic kernel overshoots."""
    return warp(image.float(), flow, mode="bicubic").clamp(0.0, 1.0).to(image.dtype)


def _gray_tensor(gray: np.ndarray, device: torch.device) -> Tensor:
    return torch.from_numpy(gray).to(device=device, dtype=torch.float32)[None, None] / 255.0


def _luma(frames: Tensor) -> Tensor:
    x = frames.float()
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
