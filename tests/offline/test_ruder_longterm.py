"""Long-term consistency weights c_long (Ruder et al. 2016, Sec. 3.3) and the temporal loss."""
from __future__ import annotations

import pytest
import torch

from models.flow.consistency import consistency_weights
from offline.ruder.longterm import long_term_weights, usable_offsets
from offline.ruder.temporal_loss import TemporalTarget, temporal_loss


def _mask(values: list[list[float]]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)[None, None]


def test_closest_first_hand_made() -> None:
    # 1x4 image; pixel k is visible in the frames marked 1.
    c1 = _mask([[1, 0, 0, 1]])
    c10 = _mask([[1, 1, 0, 0]])
    c20 = _mask([[1, 1, 1, 0]])
    out = long_term_weights({20: c20, 1: c1, 10: c10})  # order of the mapping must not matter
    assert torch.equal(out[1], c1)  # the closest frame keeps its weights
    assert torch.equal(out[10], _mask([[0, 1, 0, 0]]))  # pixel 0 already covered by i-1
    assert torch.equal(out[20], _mask([[0, 0, 1, 0]]))  # only pixel 2 is new
    # every pixel is pulled towards exactly one earlier frame when it is visible in any
    total = sum(out.values())
    assert torch.equal(total, _mask([[1, 1, 1, 1]]))


def test_soft_weights_follow_the_formula() -> None:
    c1, c10, c40 = _mask([[0.25, 0.5]]), _mask([[0.5, 0.75]]), _mask([[1.0, 1.0]])
    out = long_term_weights({1: c1, 10: c10, 40: c40})
    # c_long(i-j) = max(c(i-j) - sum_{k<j} c(i-k), 0) with the raw (unreduced) closer weights
    torch.testing.assert_close(out[10], _mask([[0.25, 0.25]]))
    torch.testing.assert_close(out[40], _mask([[0.25, 0.0]]))  # 1 - (0.5+0.75) < 0 -> 0
    assert torch.equal(c10, _mask([[0.5, 0.75]]))  # inputs untouched


def test_usable_offsets_and_shape_errors() -> None:
    assert usable_offsets(0, (1, 10, 20, 40)) == []
    assert usable_offsets(15, (40, 1, 10, 20)) == [1, 10]
    assert usable_offsets(40, (1, 10, 20, 40)) == [1, 10, 20, 40]
    assert long_term_weights({}) == {}
    with pytest.raises(ValueError, match="matching"):
        long_term_weights({1: torch.ones(1, 1, 4, 4), 10: torch.ones(1, 1, 4, 5)})


def test_long_term_on_flows_with_known_occlusion() -> None:
    """A pan of 2 px/frame to the right: frame i-j's content covers all but the 2j rightmost
    columns of frame i. c_long of i-10 must be exactly the band visible in i-10 but not i-1."""
    h, w, d = 12, 40, 2

    def weights(j: int) -> torch.Tensor:
        bwd = torch.zeros(1, 2, h, w)
        bwd[:, 0] = j * d  # cur -> prev: content at x in cur was at x + j*d in prev
        return consistency_weights(bwd, -bwd)

    c = {j: weights(j) for j in (1, 10)}
    assert c[1][..., : w - d].eq(1).all() and c[1][..., w - d:].eq(0).all()
    out = long_term_weights(c)
    # frame i-10 sees fewer columns than i-1 (it is further away): nothing new -> all zero.
    assert out[10].eq(0).all()
    # reversed motion: i-10 now sees columns i-1 cannot (an object moved away)... swap roles:
    out2 = long_term_weights({1: c[10], 10: c[1]})
    assert out2[10][..., w - 10 * d: w - d].eq(1).all() and out2[10][..., : w - 10 * d].eq(0).all()


def test_temporal_loss_is_weighted_mse() -> None:
    x = torch.zeros(1, 3, 2, 2)
    warped = torch.ones(1, 3, 2, 2)
    w = _mask([[1, 0], [0.5, 0]])
    got = temporal_loss(x, [TemporalTarget(warped=warped, weight=w)])
    assert got.item() == pytest.approx((1 + 0.5) / 4)  # mean over pixels and channels of c*(x-w)^2
    two = temporal_loss(x, [TemporalTarget(warped=warped, weight=w)] * 2)
    assert two.item() == pytest.approx(2 * got.item())
    assert temporal_loss(x, []).item() == 0.0


def test_run_ruder_feeds_long_term_targets_once_frames_exist(tmp_path) -> None:
    """Pipeline wiring with J={1,10} on 12 frames: frames 1-9 get one target (only i-1 exists),
    frames 10-11 two. On frame 11, c(10, 11) is zero on a band (its flow leaves the frame there)
    and c(1, 11) is one everywhere, so the i-10 target must carry exactly that band, and be
    frame 1's result warped (zero flow: unchanged)."""
    import numpy as np

    from models.flow.files import write_flo
    from offline.ruder.config import OptimConfig, RuderConfig
    from offline.ruder.flowcache import FlowCache
    from offline.ruder.job import Job, write_png
    from offline.ruder.methods import run_ruder
    from offline.ruder.optimize import LossTerms
    from offline.ruder.source import decode_into

    n, h, w = 12, 16, 24
    (tmp_path / "in").mkdir()
    for i in range(n):
        write_png(tmp_path / "in" / f"f{i:02d}.png", np.full((h, w, 3), 10 * i, np.uint8))
    job = Job(tmp_path / "job", {"test": 1})
    decode_into(job, str(tmp_path / "in"), max_side=None, max_frames=None)
    (job.root / "flows").mkdir()
    for a in range(n):
        for b in range(n):
            flow = np.zeros((h, w, 2), np.float32)
            if (a, b) == (11, 10):
                flow[:, :2, 0] = 100.0  # 11 -> 10 leaves the frame on columns 0-1 (2: motion boundary)
            write_flo(job.root / "flows" / f"fwd_{a:06d}_{b:06d}.flo", flow)

    seen: list[list[TemporalTarget]] = []

    class SpyOptimizer:
        def run(self, content, init, targets, *, iterations):
            seen.append(targets)
            return torch.full_like(content, len(seen) / 20), LossTerms(0.0, 0.0, 0.0, 0.0, 0.0)

    cfg = RuderConfig(optim=OptimConfig(iterations=1), long_term=(1, 10))
    run_ruder(job, FlowCache(job, estimator=None), SpyOptimizer(), cfg)  # type: ignore[arg-type]
    assert [len(t) for t in seen] == [0] + [1] * 9 + [2, 2]
    near, far = seen[11]
    band = torch.zeros(1, 1, h, w)
    band[..., :3] = 1.0
    assert torch.equal(near.weight, 1.0 - band)
    assert torch.equal(far.weight, band)  # c_long(1, 11) = max(c(1,11) - c(10,11), 0)
    torch.testing.assert_close(far.warped, job.result("ruder", 1), atol=1e-6, rtol=0)
    assert abs(float(far.warped.mean()) - 2 / 20) < 1 / 255  # frame 1 was the 2nd call's output
