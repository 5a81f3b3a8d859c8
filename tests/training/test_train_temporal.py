"""Temporal training (models.training.temporal, models.training.video_pairs): known values."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from models.training import temporal as TT
from models.flow.warp import inside_mask, warp


def _analytic(xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """A smooth RGB image defined everywhere (so a moved copy can be rendered exactly)."""
    return torch.stack([0.5 + 0.4 * torch.sin(xs / 7.0 + ys / 11.0), 0.5 + 0.4 * torch.cos(ys / 9.0),
                        0.5 + 0.3 * torch.sin((xs - ys) / 13.0)])[None].float()


def _grid(h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    return xs, ys


def test_similarity_flow_known_values() -> None:
    assert TT.similarity_flow(5, 7, shift=(0, 0), angle=0.0, zoom=1.0).abs().max() == 0
    f = TT.similarity_flow(5, 7, shift=(2.5, -1.0), angle=0.0, zoom=1.0)
    assert torch.allclose(f[0, 0], torch.full((5, 7), 2.5)) and torch.allclose(f[0, 1], torch.full((5, 7), -1.0))
    # 90 degrees about the centre (3, 2) of a 7x5 grid: pixel (x=5, y=2) samples (3, 4).
    f = TT.similarity_flow(5, 7, shift=(0, 0), angle=math.pi / 2, zoom=1.0)
    assert torch.allclose(f[0, :, 2, 5], torch.tensor([3.0 - 5.0, 4.0 - 2.0]), atol=1e-5)
    # zoom 2 about the centre: (4, 2) samples (5, 2)
    f = TT.similarity_flow(5, 7, shift=(0, 0), angle=0.0, zoom=2.0)
    assert torch.allclose(f[0, :, 2, 4], torch.tensor([1.0, 0.0]), atol=1e-6)


def test_synthetic_pair_renders_the_moved_image() -> None:
    """b from the pair equals the analytic image sampled at the moved positions (flow exact)."""
    h, w = 48, 64
    xs, ys = _grid(h, w)
    a = _analytic(xs, ys)
    gen = torch.Generator().manual_seed(3)
    b, flow, mask = TT.synthetic_pair(a, gen, max_shift=5.0, max_angle_deg=3.0, max_zoom=0.05)
    assert flow.abs().max() > 0.5  # it did move
    expected = _analytic(xs + flow[0, 0].double(), ys + flow[0, 1].double())
    m = mask[0, 0] > 0
    assert 0.5 < m.float().mean() < 1.0  # some pixels come from outside and are masked
    err = (b - expected).abs().amax(1)[0][m]
    assert float(err.max()) < 2e-3  # bilinear sampling of a smooth image; a wrong flow gives ~0.1


def test_synthetic_pair_noise_is_added_to_the_moved_frame_only() -> None:
    """--temporal-noise: same motion as without it (drawn first), b differs by noise of that std."""
    a = torch.full((2, 3, 64, 80), 0.5)
    a[:, :, 20:40, 30:50] = 0.7
    b0, f0, m0 = TT.synthetic_pair(a, torch.Generator().manual_seed(5))
    b1, f1, m1 = TT.synthetic_pair(a, torch.Generator().manual_seed(5), noise=0.03)
    assert torch.equal(f0, f1) and torch.equal(m0, m1)
    d = b1 - b0
    assert float(d.std()) == pytest.approx(0.03, rel=0.05) and abs(float(d.mean())) < 2e-3
    assert 0.0 <= float(b1.min()) and float(b1.max()) <= 1.0


class _Affine(torch.nn.Module):
    """Pointwise affine colour map: commutes with (bilinear) warping, so it is motion-equivariant."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([[0.5, 0.2, 0.1], [-0.3, 0.8, 0.2], [0.1, 0.1, 0.6]])[..., None, None])
            self.conv.bias.copy_(torch.tensor([0.1, 0.0, -0.05]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class _Pinned(_Affine):
    """The same plus a pattern fixed to the screen (a texture that does not follow the content)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        xs, ys = _grid(h, w)
        return super().forward(x) + 0.05 * torch.sin(xs / 2.0 + ys / 3.0).float()


def test_output_term_zero_for_equivariant_net_positive_otherwise() -> None:
    h, w = 40, 56
    a = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(0))
    b, flow, mask = TT.synthetic_pair(a, torch.Generator().manual_seed(1))
    eq, pinned = _Affine(), _Pinned()
    with torch.no_grad():
        zero = TT.output_temporal_loss(eq(a), eq(b), flow, mask)
        pos = TT.output_temporal_loss(pinned(a), pinned(b), flow, mask)
    assert float(zero) < 1e-10
    assert float(pos) > 1e-4


def test_feature_term_known_values() -> None:
    g = torch.Generator().manual_seed(0)
    h, w = 32, 48
    flow = TT.similarity_flow(h, w, shift=(8.0, -4.0), angle=0.0, zoom=1.0)  # 2 / -1 px on the 1/4 grid
    mask = torch.ones(1, 1, h, w)
    fa = torch.rand(1, 5, h // 4, w // 4, generator=g)
    fb = warp(fa, flow[:, :, ::4, ::4] / 4)
    inside = TT.feature_temporal_loss(fa, fb, flow, mask * inside_mask(flow))
    assert float(inside) < 1e-10
    assert float(TT.feature_temporal_loss(fa, torch.rand(fb.shape, generator=g), flow, mask)) > 0.05


def test_pair_losses_on_transformer_and_gradients() -> None:
    from models.nets.transformer import PRESETS, TransformerNet

    torch.manual_seed(0)
    net = TransformerNet(PRESETS["light"])
    tap = TT.FeatureTap(TT.encoder_end(net))
    a = torch.rand(2, 3, 32, 32)
    b, flow, mask = TT.synthetic_pair(a, torch.Generator().manual_seed(2))
    lo, lf = TT.pair_losses(net, tap, a, b, flow, mask)
    assert tap.value is not None and tap.value.shape[-2:] == (8, 8)
    assert float(lo.detach()) > 0 and float(lf.detach()) > 0
    (lo + lf).backward()
    assert net.conv1.conv2d.weight.grad is not None and net.conv1.conv2d.weight.grad.abs().sum() > 0
    tap.close()


def test_video_pairs_flow_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("av")
    from models.training import video_pairs as VP
    from tests.media_factory import make_video

    video = tmp_path / "moving.mp4"
    make_video(video, width=64, height=48, n=10, audio=None)  # a white square moving (+3, +3) px per frame
    pairs = VP.load_video_pairs([video], size=24, cache_dir=tmp_path / "cache", max_pairs=3)
    assert len(pairs) == 3 and pairs[0]["a"].shape == (48, 64, 3) and pairs[0]["flow"].shape == (2, 48, 64)
    # Square in b (frame i+1) at 3(i+1)..3(i+1)+11: b(p) = a(p + flow), flow ~ (-3, -3) there.
    fl = pairs[0]["flow"][:, 5:13, 5:13]  # pair (0, 1): square at 3..14 in b, interior
    assert np.allclose(np.median(fl, axis=(1, 2)), [-3.0, -3.0], atol=1.0)

    class Boom:
        def __init__(self, *a, **k) -> None:
            raise AssertionError("flow recomputed despite the cache")

    monkeypatch.setattr(VP, "DISFlow", Boom)
    again = VP.load_video_pairs([video], size=24, cache_dir=tmp_path / "cache", max_pairs=3)
    assert all(np.array_equal(p["flow"], q["flow"]) and np.array_equal(p["b"], q["b"]) for p, q in zip(pairs, again))
    s = VP.VideoPairSampler(again, size=24)
    a, b, flow, mask = s.batch(3, torch.Generator().manual_seed(0))
    assert a.shape == (3, 3, 24, 24) and flow.shape == (3, 2, 24, 24) and mask.shape == (3, 1, 24, 24)


def _tiny_cfg(tmp_path: Path, **kw):
    from models.io.image import write_image
    from models.training.loop import TrainConfig
    from tests.media_factory import make_video

    if not (tmp_path / "clip.mp4").exists():  # once: the encoder is not bit-exact between writes here
        rng = np.random.default_rng(0)
        write_image(tmp_path / "style.png", (rng.random((48, 48, 3)) * 255).astype(np.uint8))
        write_image(tmp_path / "content.png", (rng.random((64, 64, 3)) * 255).astype(np.uint8))
        make_video(tmp_path / "clip.mp4", width=64, height=48, n=10, audio=None)
    base = dict(style=str(tmp_path / "style.png"), content=(str(tmp_path / "content.png"), str(tmp_path / "clip.mp4")),
                output=str(tmp_path / "out.safetensors"), preset="light", size=24, style_size=48, batch_size=2,
                steps=4, lr=5e-3, style_weight=20.0, checkpoint_every=2, preview_every=0, seed=1,
                temporal_weight=10.0, temporal_feature_weight=1.0, temporal_video_pairs=3)
    base.update(kw)
    return TrainConfig(**base)


def test_temporal_training_runs_resumes_exactly_and_records(tmp_path: Path) -> None:
    pytest.importorskip("av")
    from models.training import loop as T
    from models.styles.checkpoint import read_metadata

    cfg = _tiny_cfg(tmp_path)
    full = T.train(cfg, progress=False, fresh=True)
    assert read_metadata(full.output)["training"]["temporal_weight"] == 10.0
    assert list((Path(cfg.output + ".work") / "flow_cache").glob("clip.*.npz"))  # flow computed once, cached
    other = _tiny_cfg(tmp_path, output=str(tmp_path / "b.safetensors"))
    T.train(other, progress=False, stop_at=2)
    resumed = T.train(other, progress=False)
    assert resumed.resumed_from == 2 and resumed.losses == pytest.approx(full.losses, rel=1e-5)
    no_temporal = T.train(_tiny_cfg(tmp_path, output=str(tmp_path / "c.safetensors"), temporal_weight=0.0,
                                    temporal_feature_weight=0.0), progress=False)
    assert no_temporal.losses[0] < full.losses[0]  # the temporal terms add to the loss


def test_init_from_starts_at_the_given_weights(tmp_path: Path) -> None:
    pytest.importorskip("av")
    from models.training import loop as T
    from models.styles.checkpoint import load_style
    from models.errors import UserError

    first = T.train(_tiny_cfg(tmp_path, steps=2, temporal_weight=0.0, temporal_feature_weight=0.0), progress=False)
    src, _ = load_style(first.output)
    tuned = T.train(_tiny_cfg(tmp_path, output=str(tmp_path / "t.safetensors"), steps=1, lr=1e-7,  # one Adam step moves weights by ~1e-7
                              init_from=str(first.output)), progress=False)
    got, _ = load_style(tuned.output)
    for k, v in src.state_dict().items():
        assert torch.allclose(got.state_dict()[k], v, atol=1e-3), k
    with pytest.raises(UserError, match="does not match"):
        T.train(_tiny_cfg(tmp_path, output=str(tmp_path / "s.safetensors"), preset="standard",
                          init_from=str(first.output)), progress=False)


def test_cli_temporal_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`stylecast train --temporal-weight W --init-from STYLE`: the run records both; bad values are one-line errors."""
    pytest.importorskip("av")
    from models.styles.checkpoint import read_metadata
    from models.cli import main

    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(tmp_path / "styles"))
    cfg = _tiny_cfg(tmp_path)
    args = ["train", "--style", cfg.style, "--content", *cfg.content, "--size", "24", "--style-size", "48",
            "--batch-size", "1", "--steps", "2", "--device", "cpu", "--preview-every", "0"]
    assert main([*args, "-o", "base"]) == 0
    assert main([*args, "--temporal-weight", "100", "--temporal-noise", "0.02", "--init-from", "base", "-o", "tuned"]) == 0
    training = read_metadata(tmp_path / "styles" / "tuned.safetensors")["training"]
    assert training["temporal_weight"] == 100.0 and training["temporal_feature_weight"] == 100.0
    assert training["temporal_noise"] == 0.02
    assert training["init_from"] == "base.safetensors"
    capsys.readouterr()
    assert main([*args, "--temporal-weight", "-1", "-o", "bad"]) == 2
    assert "expected values >= 0" in capsys.readouterr().err
    assert main([*args, "--temporal-noise", "0.7", "-o", "bad3"]) == 2
    assert "--temporal-noise: expected a standard deviation in [0, 0.5], got 0.7" in capsys.readouterr().err
    assert main([*args, "--init-from", "no_such_style", "-o", "bad2"]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
