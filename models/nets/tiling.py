"""Stylize frames too large for memory in overlapping tiles, with whole-frame statistics.

A feed-forward style network holds several full-resolution activations at once (32 channels of
fp32 for the standard preset: 3 GB each at 24 megapixels), so a 6000x4000 photo needs >10 GB.
Cutting the frame into tiles bounds that, but instance normalisation (Ulyanov et al. 2016)
normalises each channel by *its frame's* mean and variance: per-tile statistics would give
each tile its own contrast and colour cast, visible as a patchwork. So:

1. a first pass on the frame downscaled to ``stats_side`` records, for every instance-norm
   layer, the per-channel mean and variance of its input (the statistics of the whole picture,
   measured at a lower resolution);
2. each tile (plus ``margin`` pixels of context on every side, more than the network's receptive
   field radius of ~54 px for the standard preset) is run with those statistics in place of its
   own, so its interior is what the whole frame would give at those statistics;
3. with ``exact_stats`` (default), the statistics are then made exact, layer by layer in call
   order: a tiled pass at full resolution runs each tile up to the next layer (then stops),
   summing that layer's input over each tile's own area (a partition of the frame); earlier
   layers already use their exact values. Low-resolution statistics alone give 33 dB PSNR
   against the untiled result at half size and 25 dB at a third, and mixing exact and
   low-resolution ones is worse still (errors grow through the residual blocks); exact ones give
   the untiled result to float rounding. Cost: about 5 network passes instead of 1 (the
   prefixes up to each layer), so it is for stills and offline work, not live video;
4. tiles are cross-faded over ``blend`` pixels inside their overlap (linear ramps that sum to 1).

Tiles start at multiples of 4 so that the two stride-2 stages sample the same grid as for the
whole frame. Stylizers without instance norm (any ``Callable``) are tiled plainly. The result
differs from an untiled run only through the statistics' resolution; docs/bench/tiling.md
measures it (PSNR) and the memory bound (bench/tiling_memory.py).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from models.backends.fastnorm import FastInstanceNorm2d
from models.nets.multistyle import ConditionalInstanceNorm2d

Stylizer = Callable[[Tensor], Tensor]
_NORMS = (nn.InstanceNorm2d, FastInstanceNorm2d, ConditionalInstanceNorm2d)


@dataclass(frozen=True)
class TileConfig:
    tile: int = 1024  # side of a tile's own area (px); memory grows with (tile + 2 * margin)^2
    margin: int = 64  # context on each side, discarded: must exceed the receptive field radius
    blend: int = 32  # cross-fade width between neighbouring tiles
    stats_side: int = 1024  # longer side of the statistics pass
    exact_stats: bool = True  # full-resolution statistics, one early-stopped tiled pass per norm layer

    def __post_init__(self) -> None:
        for name in ("tile", "margin", "blend", "stats_side"):
            v = getattr(self, name)
            if v % 4 or v < 4:
                raise ValueError(f"TileConfig.{name}: expected a positive multiple of 4, got {v}")
        if self.tile < 2 * self.blend:
            raise ValueError(f"TileConfig: expected tile >= 2 * blend, got tile {self.tile}, blend {self.blend}")

    @property
    def max_pixels(self) -> int:
        """Frames with more pixels than this are tiled: (1.5 tile)^2, 2.36 MP for 1024 (1080p is not)."""
        return (3 * self.tile // 2) ** 2


def needs_tiling(height: int, width: int, config: TileConfig | None) -> bool:
    return config is not None and height * width > config.max_pixels


def stylize_tiled(stylizer: Stylizer, frames: Tensor, config: TileConfig = TileConfig()) -> Tensor:
    """``stylizer`` applied to ``frames`` (N,3,H,W) tile by tile -> (N,3,H,W) float32 in [0,1].

    ``frames`` may be float in [0,1] or uint8 (0..255, e.g. a zero-copy view of a decoded
    image: converted tile by tile, so the whole frame never exists as floats). Call under
    ``torch.inference_mode()``. Output is float32 on ``frames``' device; tiles run in the
    stylizer's parameter dtype (float32 when it has none).
    """
    if frames.ndim != 4 or frames.shape[1] != 3:
        raise ValueError(f"stylize_tiled: expected frames of shape (N,3,H,W), got {tuple(frames.shape)}")
    dtype = _param_dtype(stylizer)
    return torch.cat([_one(stylizer, frames[i:i + 1], config, dtype) for i in range(frames.shape[0])])


def _one(stylizer: Stylizer, x: Tensor, cfg: TileConfig, dtype: torch.dtype) -> Tensor:
    _, _, h, w = x.shape
    norms = [m for m in stylizer.modules() if isinstance(m, _NORMS)] if isinstance(stylizer, nn.Module) else []
    stats: dict[int, list[tuple[Tensor, Tensor]]] = {id(m): [] for m in norms}
    if norms:
        s = min(1.0, cfg.stats_side / max(h, w))
        small = F.interpolate(_as_float(x, dtype), size=(max(1, round(h * s)), max(1, round(w * s))), mode="area")
        recorder = _Recorder()
        with _patched(norms, stats, recorder):
            stylizer(small)
        del small
        if cfg.exact_stats and s < 1.0:
            for key, k in recorder.order:  # layer by layer: earlier ones are exact by now
                sums = _Sums(stop_at=(key, k))
                for _ in _tiles(stylizer, x, cfg, dtype, norms, stats, sums):
                    pass
                stats[key][k] = sums.stats()[key][k]
    acc = torch.zeros((1, 3, h, w), dtype=torch.float32, device=x.device)
    wsum = torch.zeros((1, 1, h, w), dtype=torch.float32, device=x.device)
    for (y0, y1, x0, x1), out, weight in _tiles(stylizer, x, cfg, dtype, norms, stats, None):
        acc[:, :, y0:y1, x0:x1].addcmul_(out, weight)
        wsum[:, :, y0:y1, x0:x1].add_(weight)
    return acc.div_(wsum).clamp_(0.0, 1.0)


def _tiles(stylizer: Stylizer, x: Tensor, cfg: TileConfig, dtype: torch.dtype, norms: list[nn.Module],
           stats: dict[int, list[tuple[Tensor, Tensor]]], sums: "_Sums | None"
           ) -> Iterator[tuple[tuple[int, int, int, int], Tensor, Tensor]]:
    """Each tile's window, output (float32) and blend weight; with ``sums``, every norm layer's
    input is also summed over the tile's own area."""
    _, _, h, w = x.shape
    size = cfg.tile + 2 * cfg.margin + cfg.blend
    rows, cols = _windows(h, size, cfg.tile), _windows(w, size, cfg.tile)
    for i, (y0, y1) in enumerate(rows):
        wy = _ramp(y0, y1, h, cfg, x.device)
        for j, (x0, x1) in enumerate(cols):
            wx = _ramp(x0, x1, w, cfg, x.device)
            replay = _Replay(stats, sums, own=(_own(rows, i, y0), _own(cols, j, x0)), size=(y1 - y0, x1 - x0))
            try:
                with _patched(norms, stats, replay):
                    out = stylizer(_as_float(x[:, :, y0:y1, x0:x1], dtype)).float()
            except _Stop:
                continue
            yield (y0, y1, x0, x1), out, wy[:, None] * wx[None, :]
            del out


def _own(windows: list[tuple[int, int]], k: int, a: int) -> tuple[int, int]:
    """Window ``k``'s share of a partition of the axis (cut at multiples of 4 midway through
    each overlap), relative to its start ``a``."""
    lo = 0 if k == 0 else (windows[k - 1][1] + windows[k][0]) // 8 * 4
    hi = windows[k][1] if k == len(windows) - 1 else (windows[k][1] + windows[k + 1][0]) // 8 * 4
    return lo - a, hi - a


class _Stop(Exception):
    """Raised by the layer a statistics pass is for: the rest of the network is not needed."""


class _Recorder:
    """Collect mode: each norm layer records its input's per-channel mean and variance; ``order``
    keeps the calls' order ``(layer id, call index)``."""

    def __init__(self) -> None:
        self.order: list[tuple[int, int]] = []


class _Sums:
    """Per-layer float64 sums of x and x^2 and the pixel count, over the tiles' own areas;
    ``stop_at``: the one ``(layer id, call index)`` summed, after which the tile's run stops."""

    def __init__(self, stop_at: tuple[int, int] | None = None) -> None:
        self.acc: dict[int, list[list]] = {}
        self.stop_at = stop_at

    def wants(self, key: int, k: int) -> bool:
        return self.stop_at is None or self.stop_at == (key, k)

    def add(self, key: int, k: int, x: Tensor) -> None:
        calls = self.acc.setdefault(key, [])
        while len(calls) <= k:
            calls.append([0.0, 0.0, 0])
        xd = x.double()
        c = calls[k]
        c[0] = c[0] + xd.sum(dim=(2, 3), keepdim=True)
        c[1] = c[1] + (xd * xd).sum(dim=(2, 3), keepdim=True)
        c[2] += x.shape[-2] * x.shape[-1]

    def stats(self) -> dict[int, list[tuple[Tensor, Tensor]]]:
        out = {}
        for key, calls in self.acc.items():
            out[key] = []
            for s1, s2, n in calls:
                if not n:
                    out[key].append(None)  # type: ignore[arg-type]
                    continue
                mean = s1 / n
                out[key].append((mean.float(), (s2 / n - mean * mean).clamp_min(0).float()))
        return out


@dataclass
class _Replay:
    """Replay mode: norm layers use ``stats``; with ``sums``, they also add their input over
    ``own`` (rows, cols in tile pixels), scaled to the layer's resolution."""

    stats: dict[int, list[tuple[Tensor, Tensor]]]
    sums: _Sums | None
    own: tuple[tuple[int, int], tuple[int, int]]
    size: tuple[int, int]

    def region(self, x: Tensor) -> Tensor:
        # the layer's stride: the tile is padded to a multiple of 4 (pad_for_net), then halved
        f = max(1, round(self.size[0] / x.shape[-2])) if x.shape[-2] < self.size[0] else 1
        f = 1 << round(math.log2(f))
        (r0, r1), (c0, c1) = self.own
        return x[:, :, r0 // f:-(-r1 // f), c0 // f:-(-c1 // f)]


def _param_dtype(stylizer: Stylizer) -> torch.dtype:
    if isinstance(stylizer, nn.Module):
        for p in stylizer.parameters():
            return p.dtype
    return torch.float32


def _as_float(x: Tensor, dtype: torch.dtype) -> Tensor:
    return x.to(dtype).div_(255.0) if x.dtype == torch.uint8 else x.to(dtype)


def _windows(n: int, size: int, step: int) -> list[tuple[int, int]]:
    """Windows ``[a, b)`` of ``size`` covering ``[0, n)``, starts at multiples of 4, ``step`` apart."""
    if n <= size:
        return [(0, n)]
    starts = list(range(0, n - size, step))
    last = (n - size) // 4 * 4
    if last > starts[-1]:
        starts.append(last)
    return [(a, min(a + size, n)) if a != starts[-1] else (a, n) for a in starts]


def _ramp(a: int, b: int, n: int, cfg: TileConfig, device: torch.device) -> Tensor:
    """Per-position weight in ``[a, b)``: 0 over the discarded margin, a linear rise over
    ``blend`` px, 1 inside; no margin at the frame's own edges. Neighbours' ramps sum to 1."""
    p = torch.arange(a, b, dtype=torch.float32, device=device) + 0.5
    w = torch.ones_like(p)
    if a > 0:
        w = torch.minimum(w, ((p - a - cfg.margin) / cfg.blend).clamp(0, 1))
    if b < n:
        w = torch.minimum(w, ((b - p - cfg.margin) / cfg.blend).clamp(0, 1))
    return w


@contextlib.contextmanager
def _patched(norms: list[nn.Module], stats: dict[int, list[tuple[Tensor, Tensor]]],
             mode: _Recorder | _Replay) -> Iterator[None]:
    """Instance-norm layers that record their input's statistics or use recorded ones."""
    calls = {id(m): 0 for m in norms}
    for m in norms:
        m.forward = (_recording(m, stats[id(m)], mode) if isinstance(mode, _Recorder)  # type: ignore[method-assign]
                     else _replaying(m, mode, calls))
    try:
        yield
    finally:
        for m in norms:
            del m.forward


def _recording(m: nn.Module, out: list[tuple[Tensor, Tensor]], recorder: _Recorder):  # type: ignore[no-untyped-def]
    original = type(m).forward

    def forward(x: Tensor, *args: Tensor) -> Tensor:
        var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True, correction=0)
        recorder.order.append((id(m), len(out)))
        out.append((mean, var))
        return original(m, x, *args)

    return forward


def _replaying(m: nn.Module, replay: _Replay, calls: dict[int, int]):  # type: ignore[no-untyped-def]
    def forward(x: Tensor, *args: Tensor) -> Tensor:
        k = calls[id(m)]
        calls[id(m)] = k + 1
        if replay.sums is not None and replay.sums.wants(id(m), k):
            replay.sums.add(id(m), k, replay.region(x))
            if replay.sums.stop_at is not None:
                raise _Stop
        mean, var = replay.stats[id(m)][k]
        a = torch.rsqrt(var + m.eps)  # (1,C,1,1) float32
        if isinstance(m, ConditionalInstanceNorm2d):
            gamma, beta = m.affine(args[0])
            a = a * gamma.float()[:, :, None, None]
            b = beta.float()[:, :, None, None] - mean * a
        else:
            if getattr(m, "weight", None) is not None:
                a = a * m.weight.float().view(1, -1, 1, 1)
            b = -mean * a
            if getattr(m, "bias", None) is not None:
                b = b + m.bias.float().view(1, -1, 1, 1)
        return torch.addcmul(b.to(x.dtype), x, a.to(x.dtype))

    return forward


def psnr(a: Tensor, b: Tensor) -> float:
    """Peak signal-to-noise ratio (dB) of two images in [0,1]."""
    mse = float(((a.float() - b.float()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(1.0 / mse)
