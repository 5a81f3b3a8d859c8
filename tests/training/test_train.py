"""Training: a short run on real photos lowers the loss; resume equals an uninterrupted run."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from models.training import loop as T
from models.styles.checkpoint import load_style
from models.errors import UserError
from tests.conftest import cli_without_pyav, shared_path


def _cfg(tmp_path: Path, **kw) -> T.TrainConfig:
    content = shared_path("data", "content")
    base = dict(style=str(shared_path("data", "styles", "wave.jpg")),
                content=(str(content / "tubingen.jpg"), str(content / "amber.jpg")),
                output=str(tmp_path / "out.safetensors"), size=32, style_size=48, batch_size=2, steps=12,
                lr=5e-3, style_weight=20.0, checkpoint_every=4, preview_every=0, seed=1)
    base.update(kw)
    return T.TrainConfig(**base)


def _fixed_loss(cfg: T.TrainConfig, model: torch.nn.Module) -> float:
    from models.losses.networks import build_loss_network
    from models.training.data import CropSampler, load_content

    net = build_loss_network(cfg.loss_net)
    targets = T.style_targets(cfg, net, torch.device("cpu"))
    x = CropSampler(load_content(cfg.content, size=cfg.size), size=cfg.size, seed=123).batch(4)
    with torch.no_grad():
        return float(T.compute_losses(model, net, targets, x, cfg)[0])


def test_short_training_lowers_loss(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, steps=12)
    before = _fixed_loss(cfg, T.init_model(cfg))
    res = T.train(cfg, progress=False)
    after = _fixed_loss(cfg, res.model)
    assert after < 0.8 * before, (before, after)
    model, meta = load_style(res.output)
    assert meta["training"]["steps"] == 12 and meta["style_sha256"] and meta["loss_net"] == "efficientnet_lite0"
    assert (tmp_path / "out.safetensors.work" / "state.pt").exists()


def test_resume_equals_uninterrupted(tmp_path: Path) -> None:
    a = _cfg(tmp_path, output=str(tmp_path / "a.safetensors"), steps=8)
    b = dataclasses.replace(a, output=str(tmp_path / "b.safetensors"))
    full = T.train(a, progress=False)
    part = T.train(b, progress=False, stop_at=3)  # stop after step 3 (state saved), no export
    assert part.output is None and not Path(b.output).exists()

    def ctrl_c(step: int, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(UserError, match="interrupted at step 5; state saved"):
        T.train(b, progress=False, on_step=ctrl_c)  # resumes at 3, Ctrl-C after step 5
    assert not Path(b.output).exists()
    resumed = T.train(b, progress=False)
    assert resumed.resumed_from == 5
    assert resumed.losses == full.losses
    for k, v in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, atol=0, rtol=0)
    with pytest.raises(UserError, match="different settings"):
        T.train(dataclasses.replace(b, lr=1e-2, steps=9), progress=False)


def _nan_loss(model: torch.nn.Module, loss: torch.Tensor) -> torch.Tensor:
    return loss * float("nan")


def _nan_grad(model: torch.nn.Module, loss: torch.Tensor) -> torch.Tensor:
    # sqrt at 0: value 0 (the loss stays finite), gradient inf * 0 = NaN for every weight
    return loss + torch.sqrt(0.0 * sum(p.sum() for p in model.parameters()))


@pytest.mark.parametrize("poison, message", [(_nan_loss, r"diverged at step 6 \(loss nan\).*unaffected"),
                                             (_nan_grad, r"diverged at step 6 \(non-finite gradient.*unaffected")])
def test_divergence_stops_before_poisoning_the_saved_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           poison, message: str) -> None:
    cfg = _cfg(tmp_path, steps=12)
    real = T.compute_losses
    calls = []

    def poisoned_at_sixth(model, *args, **kw):
        out = real(model, *args, **kw)
        calls.append(1)
        return (poison(model, out[0]), *out[1:]) if len(calls) == 6 else out

    monkeypatch.setattr(T, "compute_losses", poisoned_at_sixth)
    with pytest.raises(UserError, match=message):
        T.train(cfg, progress=False)
    st = torch.load(tmp_path / "out.safetensors.work" / "state.pt", weights_only=False)
    assert st["step"] == 4 and all(torch.isfinite(v).all() for v in st["model"].values())
    assert not Path(cfg.output).exists()


def test_bad_inputs_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--style"):
        T.train(_cfg(tmp_path, style=str(tmp_path / "missing.jpg")), progress=False)
    with pytest.raises(UserError, match="--content"):
        T.train(_cfg(tmp_path, content=(str(tmp_path / "nope"),)), progress=False)
    assert not Path(tmp_path / "out.safetensors").exists()
    assert not Path(tmp_path / "out.safetensors.work").exists()


def test_cli_train_writes_named_style(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from models.cli import main
    from models.styles.registry import resolve_style
    from models.styles.registry import style_metadata as registry_meta

    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(tmp_path / "styles"))
    style = str(shared_path("data", "styles", "wave.jpg"))
    content = str(shared_path("data", "content", "tubingen.jpg"))
    args = ["train", "--style", style, "--content", content, "--size", "32", "--style-size", "48",
            "--batch-size", "1", "--steps", "2", "--device", "cpu", "--preview-every", "1"]
    assert main([*args, "-o", "tiny"]) == 0
    path = resolve_style("tiny")
    assert path == tmp_path / "styles" / "tiny.safetensors"
    assert (tmp_path / "styles" / "tiny.safetensors.work" / "preview_000002.png").exists()
    assert "preserve_color" not in registry_meta("tiny")
    # --preserve-color only records how the style is rendered (models.nets.color); training is unchanged.
    assert main([*args, "--preserve-color", "-o", "tinyc"]) == 0
    assert registry_meta("tinyc")["preserve_color"] == 1.0
    assert main([*args, "-o", "sub/dir.png"]) == 2
    assert "expected a style NAME or a path ending in .safetensors" in capsys.readouterr().err


def test_training_on_images_needs_no_pyav(tmp_path: Path) -> None:
    """A lent GPU machine has torch and OpenCV but not PyAV: `stylecast train` on image content
    (and image reading/writing in general) must not import av. Run in a subprocess where importing
    av fails."""
    import numpy as np

    from models.io.image import write_image

    rng = np.random.default_rng(0)
    write_image(tmp_path / "style.png", rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))
    write_image(tmp_path / "content.png", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    out = tmp_path / "tiny.safetensors"
    r = cli_without_pyav("train", "--style", str(tmp_path / "style.png"), "--content", str(tmp_path / "content.png"),
                         "--size", "32", "--style-size", "48", "--batch-size", "1", "--steps", "2", "--device", "cpu",
                         "-o", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.is_file()
