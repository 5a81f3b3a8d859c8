"""Stylize an image, a video or the embedded sample with an injected stylizer.

The stylizer is any ``Callable[[Tensor], Tensor]`` mapping (N,3,H,W) RGB [0,1] to the same shape
(e.g. :func:`models.styles.registry.load_stylizer`); it is passed in, never chosen here. Videos keep
their frame count, timestamps (so variable frame rate survives), fps, time base and audio
(see :mod:`models.io`). Outputs are written atomically: a failure leaves no partial file.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Protocol

import cv2
import numpy as np
import torch
from torch import Tensor
from tqdm import tqdm

from models.contracts import check_frames, default_dtype
from models.engine import FrameEngine
from models.errors import UserError
from models.guided import RenderScale
from models.io import (IMAGE_SUFFIXES, VideoWriter, check_output_path, fit_size, read_alpha, read_image,
                       write_image)

if TYPE_CHECKING:
    from models.nets.tiling import TileConfig

Stylizer = Callable[[Tensor], Tensor]
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(frozen=True)
class StylizeOptions:
    batch_size: int = 4  # frames per stylizer call (bigger is faster on GPUs, costs memory)
    max_side: int | None = None  # downscale so the longer side is at most this (None: keep)
    preview: Path | None = None  # side-by-side PNG: original | stylized, a few frames
    preview_frames: int = 3
    crf: int = 18  # x264 quality: 18 is visually lossless, +6 halves the size
    preset: str = "medium"  # x264 speed/size trade-off; "veryfast" when the encoder is the bottleneck
    audio: bool = True  # copy the source's audio track (when the source is a file with one)
    pix_fmt: str = "yuv420p"  # H.264 chroma (models.io.video_write.PIX_FMTS): odd sizes are padded to even
    tile: int = 1024  # frames over (1.5 tile)^2 pixels run in tiles (models.nets.tiling) to bound memory; 0: never
    progress: bool = True
    render: RenderScale | None = None  # network size (models.guided); None = full size

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UserError(f"--batch-size: expected an integer >= 1, got {self.batch_size}")
        if self.preset not in X264_PRESETS:
            raise UserError(f"--preset: expected one of {', '.join(X264_PRESETS)}, got {self.preset!r}")
        if not 0 <= self.crf <= 51:
            raise UserError(f"--crf: expected an integer in [0, 51], got {self.crf}")
        if self.tile != 0 and (self.tile < 64 or self.tile % 4):
            raise UserError(f"--tile: expected 0 (never tile) or a multiple of 4 >= 64, got {self.tile}")
        if self.max_side is not None and self.max_side < 16:
            raise UserError(f"--max-side: expected an integer >= 16, got {self.max_side}")


@dataclass(frozen=True)
class StylizeResult:
    output: Path
    frames: int
    width: int
    height: int
    seconds: float
    preview: Path | None = None


class FrameSource(Protocol):
    """What :func:`stylize_video` reads: a :class:`models.io.VideoReader` or :class:`ArraySource`."""

    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frame_count: int | None

    def frames_with_pts(self) -> Iterator[tuple[np.ndarray, int | None, Fraction]]: ...


@dataclass(frozen=True)
class ArraySource:
    """In-memory frames (n,H,W,3) uint8 at a constant ``fps`` (used for the embedded sample)."""

    frames: np.ndarray
    fps: Fraction = Fraction(24)

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def time_base(self) -> Fraction:
        return 1 / self.fps

    @property
    def frame_count(self) -> int:
        return int(self.frames.shape[0])

    def frames_with_pts(self) -> Iterator[tuple[np.ndarray, int | None, Fraction]]:
        for i, f in enumerate(self.frames):
            yield f, i, self.time_base


def resolve_device(choice: str) -> tuple[torch.device, str]:
    """``auto|cpu|cuda`` -> device and a one-line note saying which one is used and why."""
    has_cuda = torch.cuda.is_available()
    if choice == "cuda" and not has_cuda:
        raise UserError("--device cuda: expected a CUDA GPU, but torch.cuda.is_available() is False")
    if choice in ("cuda", "auto") and has_cuda:
        return torch.device("cuda"), f"using CUDA ({torch.cuda.get_device_name(0)})"
    if choice == "auto":
        return torch.device("cpu"), "no CUDA GPU found: falling back to CPU (slow)"
    if choice == "cpu":
        return torch.device("cpu"), "using CPU"
    raise UserError(f"--device: expected auto, cpu or cuda, got {choice!r}")


def load_style(name_or_path: str, *, device: torch.device, dtype: torch.dtype,
               preserve_color: float | None = None) -> Stylizer:
    """Default stylizer factory (the CLI calls it; tests replace it). ``preserve_color``: see
    :func:`models.styles.registry.load_stylizer` (None: the style file's own setting)."""
    from models.styles.registry import load_stylizer

    return load_stylizer(name_or_path, device=device, dtype=dtype, preserve_color=preserve_color)


def stylize_batches(frames: Iterable[np.ndarray], stylizer: Stylizer, *, device: torch.device,
                    dtype: torch.dtype, batch_size: int, size: tuple[int, int], render: RenderScale | None = None,
                    tile: int = 0) -> Iterator[tuple[list[np.ndarray], np.ndarray]]:
    """Yield ``(inputs_u8, stylized_u8)`` per batch; inputs are resized to ``size=(h, w)``.
    Each batch goes through :class:`models.engine.FrameEngine` (``render``: the network's size).
    Frames over :attr:`models.nets.tiling.TileConfig.max_pixels` for ``tile`` run tiled instead (one by
    one, at full size: tiling exists to bound memory, render scale to save time)."""
    from models.nets.tiling import TileConfig, needs_tiling

    tiles = TileConfig(tile=tile) if tile and needs_tiling(*size, TileConfig(tile=tile)) else None
    if tiles is not None:
        batch_size = 1
    engine = FrameEngine(device=device, dtype=dtype, render=render)
    batch: list[np.ndarray] = []
    for f in frames:
        if f.shape[:2] != size:
            f = cv2.resize(f, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        batch.append(f)
        if len(batch) == batch_size:
            yield batch, _run(engine, stylizer, batch, tiles)
            batch = []
    if batch:
        yield batch, _run(engine, stylizer, batch, tiles)


def _run(engine: FrameEngine, stylizer: Stylizer, batch: list[np.ndarray], tiles: "TileConfig | None" = None
         ) -> np.ndarray:
    if tiles is not None:
        return _run_tiled(stylizer, batch[0], engine.device, tiles)[None]

    def checked(x: Tensor) -> Tensor:
        y = stylizer(x)
        check_frames(y, "stylizer output", like=x)
        if y.shape != x.shape:
            raise ValueError(f"stylizer output: expected shape {tuple(x.shape)}, got {tuple(y.shape)}")
        return y

    with torch.inference_mode():
        out = engine.process(dict(enumerate(batch)), checked)
    return np.stack([out[i] for i in range(len(batch))])


def _run_tiled(stylizer: Stylizer, frame: np.ndarray, device: torch.device, tiles: "TileConfig") -> np.ndarray:
    """One large frame through :func:`models.nets.tiling.stylize_tiled`, never holding it as floats
    more than once: the uint8 image goes in as a view, the float result is rounded in place."""
    from models.nets.tiling import stylize_tiled

    u8 = torch.from_numpy(np.ascontiguousarray(frame)).to(device).permute(2, 0, 1)[None]
    with torch.inference_mode():
        y = stylize_tiled(stylizer, u8, tiles)
        y = y.mul_(255.0).add_(0.5).to(torch.uint8)
    return np.ascontiguousarray(y[0].permute(1, 2, 0).cpu().numpy())


class _Preview:
    """Keeps a few (original, stylized) pairs, evenly spread when the frame count is known."""

    def __init__(self, count: int | None, k: int) -> None:
        self.want = set(np.linspace(0, count - 1, k).round().astype(int).tolist()) if count else None
        self.k, self.pairs = k, []  # type: ignore[var-annotated]

    def offer(self, i: int, orig: np.ndarray, styl: np.ndarray) -> None:
        take = i in self.want if self.want is not None else (i % 30 == 0 and len(self.pairs) < self.k)
        if take:
            self.pairs.append((orig, styl))

    def write(self, path: Path) -> Path:
        rows = [np.concatenate([o, np.full((o.shape[0], 4, 3), 255, np.uint8), s], axis=1)
                for o, s in self.pairs]
        sep = np.full((4, rows[0].shape[1], 3), 255, np.uint8)
        grid = np.concatenate([r for row in rows for r in (row, sep)][:-1], axis=0)
        return write_image(path, grid)


def stylize_video(reader: FrameSource, output: str | Path, *, stylizer: Stylizer,
                  device: torch.device | str = "cpu", dtype: torch.dtype | None = None,
                  options: StylizeOptions = StylizeOptions(),
                  audio_from: str | Path | None = None) -> StylizeResult:
    """Stylize every frame of ``reader`` into the video ``output`` (same timing, audio copied).

    Audio comes from ``audio_from``, else from the reader's file (``reader.path``) when it has
    one; ``options.audio=False`` drops it.
    """
    device = torch.device(device)
    dtype = dtype or default_dtype(device)
    h, w = fit_size(reader.height, reader.width, options.max_side)
    if options.preview:  # fail before hours of work, not after
        check_output_path(options.preview, IMAGE_SUFFIXES)
    preview = _Preview(reader.frame_count, options.preview_frames) if options.preview else None
    if audio_from is None:
        audio_from = getattr(reader, "path", None)
    if not options.audio:
        audio_from = None
    t0 = time.perf_counter()
    frames = reader.frames_with_pts()
    pts_list: list[int | None] = []

    def images() -> Iterator[np.ndarray]:
        for f, pts, _ in frames:
            pts_list.append(pts)
            yield f

    n = 0
    with VideoWriter(output, width=w, height=h, fps=reader.fps, time_base=reader.time_base,
                     audio_from=audio_from, crf=options.crf, preset=options.preset,
                     pix_fmt=options.pix_fmt) as writer, \
            tqdm(total=reader.frame_count, unit="frame", desc="stylizing", file=sys.stderr,
                 disable=not options.progress, leave=False) as bar:
        for inputs, outs in stylize_batches(images(), stylizer, device=device, dtype=dtype,
                                            batch_size=options.batch_size, size=(h, w), render=options.render,
                                            tile=options.tile):
            for orig, styl in zip(inputs, outs):
                writer.write(styl, pts=pts_list[n])
                if preview is not None:
                    preview.offer(n, orig, styl)
                n += 1
            bar.update(len(inputs))
    prev = preview.write(options.preview) if preview is not None and options.preview else None
    return StylizeResult(Path(output), n, w, h, time.perf_counter() - t0, prev)


def stylize_image(src: str | Path, output: str | Path, *, stylizer: Stylizer,
                  device: torch.device | str = "cpu", dtype: torch.dtype | None = None,
                  options: StylizeOptions = StylizeOptions()) -> StylizeResult:
    """Stylize one image file into ``output`` (an image; format from its suffix). An RGBA input
    keeps its alpha channel (the colour is stylized; formats without alpha say they drop it)."""
    device = torch.device(device)
    if options.preview:
        check_output_path(options.preview, IMAGE_SUFFIXES)
    img = read_image(src)
    h, w = fit_size(img.shape[0], img.shape[1], options.max_side)
    t0 = time.perf_counter()
    ((orig,), out), = stylize_batches([img], stylizer, device=device, dtype=dtype or default_dtype(device),
                                      batch_size=1, size=(h, w), render=options.render, tile=options.tile)
    del img
    write_image(output, out[0], alpha=read_alpha(src, (h, w)))  # RGBA: the colour is stylized, alpha kept
    prev = None
    if options.preview:
        pv = _Preview(1, 1)
        pv.offer(0, orig, out[0])
        prev = pv.write(options.preview)
    return StylizeResult(Path(output), 1, w, h, time.perf_counter() - t0, prev)
