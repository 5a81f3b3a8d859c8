"""TemporalBlender: known behaviour on synthetic motion and real footage."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from models.temporal.metrics import warping_error
from models.temporal.blender import TemporalBlender, TemporalConfig, _frame_key


def _pan(t: int, h: int = 64, w: int = 96, step: int = 2, seed: int = 0) -> torch.Tensor:
    """Smooth random texture panning `step` px left per frame, (T,3,H,W)."""
    g = torch.Generator().manual_seed(seed)
    base = F.interpolate(torch.rand(1, 3, h // 4, (w + step * t) // 4 + 1, generator=g), size=(h, w + step * t), mode="bicubic")
    base = base.clamp(0, 1)
    return torch.cat([base[..., step * i:step * i + w] for i in range(t)])


def _texture(h: int, w: int, seed: int, k: int = 3) -> torch.Tensor:
    """(3,H,W) smooth random texture: bicubic-upsampled noise with feature size ~k px."""
    g = torch.Generator().manual_seed(seed)
    return F.interpolate(torch.rand(1, 3, h // k, w // k, generator=g), size=(h, w), mode="bicubic").clamp(0, 1)[0]


def test_first_frame_passes_through_and_inputs_untouched() -> None:
    b = TemporalBlender()
    x, s = torch.rand(1, 3, 32, 48), torch.rand(1, 3, 32, 48)
    x0, s0 = x.clone(), s.clone()
    out = b(x, s)
    assert torch.equal(out, s) and torch.equal(x, x0) and torch.equal(s, s0)


def test_static_scene_limits() -> None:
    """Static input: every pixel is reliable, so out = fresh + strength*(prev_out - fresh)."""
    x = _pan(1)
    s1, s2 = torch.rand(1, 3, 64, 96), torch.rand(1, 3, 64, 96)
    for strength in (0.0, 0.5, 1.0):
        b = TemporalBlender(TemporalConfig(strength=strength, preserve_contrast=False))
        b(x, s1)
        out = b(x, s2)
        torch.testing.assert_close(out, s2 + strength * (s1 - s2), atol=1e-4, rtol=0)


def test_flicker_is_removed_on_a_pan() -> None:
    """A 'stylization' that is the input plus random per-frame noise: blending must cut E_warp
    (measured with the exact flow) a lot while following the motion (no smearing of content)."""
    frames = _pan(6)
    g = torch.Generator().manual_seed(3)
    noisy = (frames + 0.1 * torch.randn(frames.shape, generator=g)).clamp(0, 1)
    b = TemporalBlender(TemporalConfig(strength=0.8))
    out = torch.cat([b(frames[i:i + 1], noisy[i:i + 1]) for i in range(6)])
    flow = torch.zeros(5, 2, 64, 96)
    flow[:, 0] = -2.0
    e_raw = warping_error(frames, noisy, flow)
    e_out = warping_error(frames, out, flow)
    assert e_out < 0.5 * e_raw
    # content still tracks the input: the blended output is closer to the clean frames than the noise is
    assert (out[-1] - frames[-1]).abs().mean() < (noisy[-1] - frames[-1]).abs().mean()


def _moving_square() -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
    """A textured 32x32 square moves 8 px right over a static textured background; returns the
    two frames and the exact flows ("bwd" = cur->prev on cur's grid, "fwd" = prev->cur)."""
    h, w, y0, s, dx = 96, 128, 32, 32, 8
    bg = _texture(h, w, seed=0) * 0.5
    obj = 0.5 + 0.5 * _texture(s, s, seed=5)
    frames = []
    for x0 in (40, 40 + dx):
        f = bg.clone()
        f[:, y0:y0 + s, x0:x0 + s] = obj
        frames.append(f[None])
    fwd, bwd = torch.zeros(1, 2, h, w), torch.zeros(1, 2, h, w)
    fwd[0, 0, y0:y0 + s, 40:40 + s] = dx
    bwd[0, 0, y0:y0 + s, 40 + dx:40 + dx + s] = -dx
    return frames, {"fwd": fwd, "bwd": bwd}


def test_disoccluded_region_takes_fresh_stylization() -> None:
    """With exact flows injected: the strip uncovered behind the moving square has no history, so
    the blend outputs the fresh stylization there; the tracked square and the static background
    keep the previous output."""
    frames, flows = _moving_square()

    def exact_flow(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return flows["bwd"] if a is frames[1] else flows["fwd"]

    b = TemporalBlender(TemporalConfig(strength=1.0), flow=exact_flow)
    b(frames[0], torch.zeros(1, 3, 96, 128))
    out = b(frames[1], torch.ones(1, 3, 96, 128))
    assert out[0, :, 32:64, 40:48].min() == 1.0  # uncovered strip: fresh
    assert out[0, :, 34:62, 52:76].max() == 0.0  # interior of the moving square: history
    assert out[0, :, :24].max() == 0.0 and out[0, :, :, 90:].max() == 0.0  # static background


def test_dis_path_finds_most_of_the_uncovered_strip() -> None:
    """Same scene with the real DIS estimator: its flow is smooth across the square's edges, so
    the forward-backward test alone misses the uncovered strip; the photometric check recovers
    most of it (this is why it is on by default)."""
    frames, _ = _moving_square()
    fresh_share = {}
    for thr in (None, 0.08):
        b = TemporalBlender(TemporalConfig(strength=1.0, photometric_threshold=thr, flow_preset="fast", flow_max_side=320))
        b(frames[0], torch.zeros(1, 3, 96, 128))
        fresh_share[thr] = float(b(frames[1], torch.ones(1, 3, 96, 128))[0, :, 34:62, 41:47].mean())
    assert fresh_share[0.08] > 0.4 and fresh_share[0.08] > fresh_share[None] + 0.3
    # The default flow since issue 17 (DIS "medium" at up to 640 px) is sharp at the square's
    # edges: the forward-backward test alone already finds the whole strip (measured: 1.0).
    b = TemporalBlender(TemporalConfig(strength=1.0, photometric_threshold=None))
    b(frames[0], torch.zeros(1, 3, 96, 128))
    assert float(b(frames[1], torch.ones(1, 3, 96, 128))[0, :, 34:62, 41:47].mean()) > 0.9


def test_restore_detail_undoes_averaging_loss_only() -> None:
    from models.temporal.detail import restore_detail

    g = torch.Generator().manual_seed(7)
    a, b = torch.rand(1, 3, 48, 64, generator=g), torch.rand(1, 3, 48, 64, generator=g)
    torch.testing.assert_close(restore_detail(a, a), a, atol=1e-6, rtol=0)  # nothing averaged: unchanged

    def detail_energy(t: torch.Tensor) -> float:
        return float(((t - F.avg_pool2d(F.pad(t, (1, 1, 1, 1), mode="replicate"), 3, 1)) ** 2).mean())

    mix = 0.5 * a + 0.5 * b  # two unrelated stroke patterns: half the detail energy
    assert detail_energy(mix) < 0.6 * detail_energy(a)
    fixed = restore_detail(mix, a, window=3)
    assert detail_energy(fixed) == pytest.approx(detail_energy(a), rel=0.2)
    torch.testing.assert_close(F.avg_pool2d(fixed, 8), F.avg_pool2d(mix, 8), atol=0.05, rtol=0)  # local mean kept


def test_restore_lost_detail_known_values() -> None:
    """Same pattern at two contrasts: only the energy the lerp removed comes back, in closed form.

    fresh = c + D, warped = c + k*D, blended = lerp(fresh, warped, a) = c + g0*D with
    g0 = (1-a) + a*k. Energies share the field |D - box(D)|^2, so the gain is the constant
    sqrt(1 + a(1-a)(1-k)^2 / g0^2): 1.0541 for a = k = 0.5, where the earlier rule
    (restore_detail, back to the fresh energy) re-sharpens by 1/g0 = 1.3333."""
    from models.temporal.detail import restore_detail, restore_lost_detail

    g = torch.Generator().manual_seed(3)
    d = 0.2 * (torch.rand(1, 3, 40, 56, generator=g) - 0.5)
    fresh, warped = 0.5 + d, 0.5 + 0.5 * d
    a = 0.5
    blended = torch.lerp(fresh, warped, a)
    alpha = torch.full((1, 1, 40, 56), a)

    def detail(t: torch.Tensor) -> torch.Tensor:
        return t - F.avg_pool2d(t, 3, stride=1, padding=1, count_include_pad=False)

    g0 = (1 - a) + a * 0.5
    out = restore_lost_detail(blended, fresh, warped, alpha, window=3)
    # the gain the code applied, read back from its output (least squares on the detail field)
    db = detail(blended)
    applied = 1 + float(((out - blended) * db).sum() / (db * db).sum())
    assert applied == pytest.approx(1.0541, abs=1e-4)
    torch.testing.assert_close(out, blended + (applied - 1) * db, atol=1e-5, rtol=0)
    old = restore_detail(blended, fresh, window=3)
    torch.testing.assert_close(old, blended + (1 / g0 - 1) * detail(blended), atol=1e-5, rtol=0)
    # nothing averaged away: alpha 0 or 1, or both patterns equal -> unchanged
    for al, w in ((0.0, warped), (1.0, warped), (0.7, fresh)):
        x = torch.lerp(fresh, w, al)
        torch.testing.assert_close(restore_lost_detail(x, fresh, w, torch.full_like(alpha, al)), x, atol=1e-6, rtol=0)


def test_restore_lost_detail_unrelated_patterns() -> None:
    """Two unrelated patterns mixed 50/50 keep the mean of their detail energies (not the sum of
    squared weights' quarter), and the local mean is kept."""
    from models.temporal.detail import restore_lost_detail

    g = torch.Generator().manual_seed(7)
    a, b = torch.rand(1, 3, 48, 64, generator=g), torch.rand(1, 3, 48, 64, generator=g)

    def detail_energy(t: torch.Tensor) -> float:
        return float(((t - F.avg_pool2d(t, 3, stride=1, padding=1, count_include_pad=False)) ** 2).mean())

    mix = 0.5 * a + 0.5 * b
    fixed = restore_lost_detail(mix, a, b, torch.full((1, 1, 48, 64), 0.5), window=3)
    target = 0.5 * (detail_energy(a) + detail_energy(b))
    assert detail_energy(mix) < 0.6 * target
    assert detail_energy(fixed) == pytest.approx(target, rel=0.1)
    torch.testing.assert_close(F.avg_pool2d(fixed, 8), F.avg_pool2d(mix, 8), atol=0.05, rtol=0)


def test_blender_uses_lost_detail_rule() -> None:
    """Zero flow, identical input frames: the blender's output is restore_lost_detail of the
    lerp with alpha = strength (confidence 1 inside the frame; the bicubic history is exact at
    integer positions), and detail_target="fresh" keeps the earlier rule."""
    from models.temporal.detail import restore_detail, restore_lost_detail

    def zero_flow(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.zeros(a.shape[0], 2, *a.shape[-2:])

    x = _pan(1)
    g = torch.Generator().manual_seed(5)
    s1, s2 = torch.rand(1, 3, 64, 96, generator=g), torch.rand(1, 3, 64, 96, generator=g)
    lerp = torch.lerp(s2, s1, 0.85)
    for target, want in (("lost", restore_lost_detail(lerp, s2, s1, torch.full((1, 1, 64, 96), 0.85))),
                         ("fresh", restore_detail(lerp, s2, window=3))):
        b = TemporalBlender(TemporalConfig(strength=0.85, detail_target=target), flow=zero_flow)
        b(x, s1)
        torch.testing.assert_close(b(x, s2), want, atol=1e-5, rtol=0)


def test_bicubic_history_known_values() -> None:
    """Half-pixel shift: bilinear averages two neighbours (blur), bicubic uses Keys' cubic
    (a = -0.75) weights -0.09375, 0.59375, 0.59375, -0.09375; integer shifts are exact."""
    from models.temporal.blender import _warp_bicubic

    g = torch.Generator().manual_seed(11)
    img = 0.25 + 0.5 * torch.rand(1, 3, 8, 16, generator=g)
    half = torch.zeros(1, 2, 8, 16)
    half[:, 0] = 0.5
    out = _warp_bicubic(img, half)
    want = 0.59375 * (img[..., 1:-2] + img[..., 2:-1]) - 0.09375 * (img[..., :-3] + img[..., 3:])
    torch.testing.assert_close(out[..., 1:-2], want, atol=1e-5, rtol=0)
    one = torch.zeros(1, 2, 8, 16)
    one[:, 1] = 1.0
    torch.testing.assert_close(_warp_bicubic(img, one)[..., :-1, :], img[..., 1:, :], atol=1e-5, rtol=0)


def test_scene_cut_resets_history() -> None:
    a = _pan(1, seed=1) * 0.2  # dark shot
    c = 0.8 + 0.2 * _pan(1, seed=2)  # bright shot
    b = TemporalBlender(TemporalConfig(strength=1.0))
    b(a, torch.zeros_like(a))
    fresh = torch.rand_like(c)
    assert torch.equal(b(c, fresh), fresh) and b.scene_cuts == 1


def test_reset_and_size_change_start_fresh() -> None:
    b = TemporalBlender(TemporalConfig(strength=1.0))
    x = _pan(1)
    b(x, torch.zeros_like(x))
    b.reset()
    s = torch.rand_like(x)
    assert torch.equal(b(x, s), s)
    y = torch.rand(1, 3, 40, 40)
    assert torch.equal(b(y, y), y)  # new size: no stale history


def test_bwd_only_check_and_custom_flow() -> None:
    x = _pan(2)
    calls: list[tuple] = []

    def zero_flow(a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        calls.append(tuple(a.shape))
        return torch.zeros(a.shape[0], 2, *a.shape[-2:])

    b = TemporalBlender(TemporalConfig(strength=0.5, check="bwd", photometric_threshold=None, preserve_contrast=False), flow=zero_flow)
    s1, s2 = torch.rand_like(x[:1]), torch.rand_like(x[:1])
    b(x[:1], s1)
    out = b(x[1:], s2)
    assert calls == [(1, 3, 64, 96)]  # bwd only: one flow per frame, at full resolution
    torch.testing.assert_close(out, 0.5 * (s1 + s2))


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="strength"):
        TemporalConfig(strength=1.2)
    with pytest.raises(ValueError, match="check"):
        TemporalConfig(check="magic")
    with pytest.raises(ValueError, match="detail_target"):
        TemporalConfig(detail_target="sharpest")
    with pytest.raises(ValueError, match="history_resampling"):
        TemporalConfig(history_resampling="lanczos")
    with pytest.raises(ValueError, match=r"one frame"):
        TemporalBlender()(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8))


def test_real_clip_halves_warping_error() -> None:
    """Cockatoo footage (downscaled), a real pretrained style network: E_warp at least halves."""
    import sys

    from tests.conftest import shared_path

    video = shared_path("data", "video", "cockatoo_720p.mp4")
    weights = shared_path("weights", "fast_style", "wave.safetensors")
    sys.path.insert(0, str(shared_path("tools")))
    import av
    import reference_nets as rn

    net = rn.load_style_net(str(weights))
    frames = []
    with av.open(str(video)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i >= 6:
                break
            frames.append(fr.to_ndarray(format="rgb24", width=160, height=96))
    x = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float() / 255.0
    with torch.no_grad():
        styl = torch.cat([net(x[i:i + 1]) for i in range(len(x))])
    b = TemporalBlender()
    out = torch.cat([b(x[i:i + 1], styl[i:i + 1]) for i in range(len(x))])
    assert warping_error(x, out) <= 0.5 * warping_error(x, styl)


def test_histogram_distance_known_values() -> None:
    from models.temporal.scenecut import gray_histogram, histogram_distance

    dark, bright = np.zeros((8, 8), np.uint8), np.full((8, 8), 255, np.uint8)
    half = dark.copy()
    half[:, 4:] = 255
    h_d, h_b, h_h = gray_histogram(dark), gray_histogram(bright), gray_histogram(half)
    assert histogram_distance(h_d, h_d) == 0.0 and histogram_distance(h_d, h_b) == 1.0
    assert histogram_distance(h_d, h_h) == pytest.approx(0.5)
    # a pan does not change the histogram: no false cut
    assert histogram_distance(gray_histogram(half), gray_histogram(np.roll(half, 3, axis=1))) == 0.0
    with pytest.raises(ValueError, match="HxW uint8"):
        gray_histogram(np.zeros((4, 4, 3), np.uint8))


def _devices() -> list[str]:
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


@pytest.mark.parametrize("device", _devices())
@pytest.mark.parametrize("inference", [False, True])
def test_prefetch_gives_the_same_output(device: str, inference: bool) -> None:
    """prefetch() (queue the flow input ahead of the stylizer) changes when the grey copy is
    made (on the CPU: when the flows start), never the result: bit-identical outputs on a pan, with frames under inference mode too
    (they keep no version counter); a prefetch for another frame is ignored, not misused."""
    frames = _pan(5).to(device)
    g = torch.Generator().manual_seed(5)
    styl = (frames.cpu() + 0.1 * torch.randn(frames.shape, generator=g)).clamp(0, 1).to(device)
    plain, pre = TemporalBlender(), TemporalBlender()
    ctx = torch.inference_mode() if inference else torch.no_grad()
    with ctx:
        for i in range(5):
            x, s = frames[i:i + 1], styl[i:i + 1]
            want = plain(x, s)
            if i == 3:  # prefetched the wrong frame: must fall back to converting this one
                pre.prefetch(frames[4:5])
            else:
                pre.prefetch(frames[i:i + 1])  # a new view of the same frame, as GpuPipeline passes
            if device == "cpu":  # the CPU prefetch starts both DIS flows on the blender's worker thread
                started = list(pre._prefetched.values())[-1][2] is not None
                # not for the first frame (no partner) nor at i=4 (frame 3 was not prefetched)
                assert started == (i in (1, 2, 3))
            got = pre(x, s)
            assert torch.equal(got, want), f"frame {i}: max diff {float((got - want).abs().max())}"
            assert _frame_key(x) not in pre._prefetched  # consumed by the call


@pytest.mark.parametrize("inference", [False, True])
def test_prefetch_one_ahead_on_another_thread_gives_the_same_output(inference: bool) -> None:
    """FrameEngine's CPU pipeline: frame t+1 is prefetched (its flows start) before frame t is
    blended, and the blend runs on another thread. Outputs stay bit-identical to the plain
    blender's, and every frame after the first uses a prefetched flow (none recomputed)."""
    from concurrent.futures import ThreadPoolExecutor

    n = 6
    frames = _pan(n)
    styl = (frames + 0.1 * torch.randn(frames.shape, generator=torch.Generator().manual_seed(7))).clamp(0, 1)
    plain, pre = TemporalBlender(), TemporalBlender()
    ctx = torch.inference_mode if inference else torch.no_grad
    with ctx():
        want = [plain(frames[i:i + 1], styl[i:i + 1]) for i in range(n)]
    real = pre._dis_flow_and_confidence
    flow_threads: list[str] = []  # where each flow ran: the flow worker (prefetched) or in the blend
    pre._dis_flow_and_confidence = lambda *a: (flow_threads.append(threading.current_thread().name), real(*a))[1]

    def blend(i: int) -> Tensor:
        with ctx():
            return pre(frames[i:i + 1], styl[i:i + 1])

    got = []
    with ThreadPoolExecutor(1) as finisher, ctx():
        pre.prefetch(frames[0:1])
        for i in range(n):
            fut = finisher.submit(blend, i)
            if i + 1 < n:
                pre.prefetch(frames[i + 1:i + 2])  # while frame i may be blending
            got.append(fut.result())
    for i in range(n):
        assert torch.equal(got[i], want[i]), f"frame {i}: max diff {float((got[i] - want[i]).abs().max())}"
    assert len(flow_threads) == n - 1 and all(t.startswith("stylecast-flow") for t in flow_threads), flow_threads


def test_prefetch_ignored_after_the_frame_changes_in_place() -> None:
    frames = _pan(2)
    s = torch.rand(2, 3, 64, 96, generator=torch.Generator().manual_seed(1))
    plain, pre = TemporalBlender(), TemporalBlender()
    x0, x1 = frames[0:1].clone(), frames[1:2].clone()
    plain(x0, s[:1])
    pre(x0, s[:1])
    pre.prefetch(x1)
    x1.mul_(0.5)  # modified after the prefetch: its grey copy is stale
    assert torch.equal(pre(x1, s[1:]), plain(x1, s[1:]))
