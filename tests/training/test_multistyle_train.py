"""Multi-style training: a tiny 2-style run lowers each style's loss; resume is bit-identical."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from models.training import loop as T
from models.training.config import same_run
from models.styles.checkpoint import load_multistyle
from models.errors import UserError
from models.nets.multistyle import MultiStyleNet
from tests.conftest import shared_path


def _cfg(tmp_path: Path, **kw) -> T.TrainConfig:
    content = shared_path("data", "content")
    styles = shared_path("data", "styles")
    base = dict(style="", styles=(str(styles / "wave.jpg"), str(styles / "starry_night.jpg")),
                content=(str(content / "tubingen.jpg"), str(content / "amber.jpg")),
                output=str(tmp_path / "multi.safetensors"), size=32, style_size=48, batch_size=2, steps=12,
                lr=5e-3, style_weight=20.0, checkpoint_every=4, preview_every=0, seed=1)
    base.update(kw)
    return T.TrainConfig(**base)


def _per_style_losses(cfg: T.TrainConfig, model: MultiStyleNet) -> list[float]:
    """Total loss of each style on one fixed batch (one-hot mix, that style's Grams)."""
    from models.losses.networks import build_loss_network
    from models.training.data import CropSampler, load_content

    net = build_loss_network(cfg.loss_net)
    targets = T.style_targets(cfg, net, torch.device("cpu"))
    x = CropSampler(load_content(cfg.content, size=cfg.size), size=cfg.size, seed=123).batch(4)
    out = []
    for k in range(model.n_styles):
        mix = torch.nn.functional.one_hot(torch.full((4,), k), model.n_styles).float()
        with torch.no_grad():
            out.append(float(T.compute_losses(model, net, {t: g[k:k + 1] for t, g in targets.items()}, x, cfg, mix)[0]))
    return out


def test_batch_styles_cycle() -> None:
    assert T.batch_styles(0, 4, 3).tolist() == [0, 1, 2, 0]
    assert T.batch_styles(1, 4, 3).tolist() == [1, 2, 0, 1]
    assert T.batch_styles(5, 2, 8).tolist() == [2, 3]


def test_two_style_training_lowers_each_style_loss_and_exports(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    before = _per_style_losses(cfg, T.init_model(cfg))  # type: ignore[arg-type]
    res = T.train(cfg, progress=False, members={"wave": {"description": "Hokusai"}})
    after = _per_style_losses(cfg, res.model)  # type: ignore[arg-type]
    for b, a in zip(before, after):
        assert a < 0.85 * b, (before, after)
    model, meta = load_multistyle(res.output)
    assert model.style_names == ("wave", "starry_night")
    assert [s["name"] for s in meta["styles"]] == ["wave", "starry_night"]
    assert meta["styles"][0]["description"] == "Hokusai" and meta["styles"][1]["style_sha256"]
    assert meta["training"]["steps"] == 12 and meta["loss_net"] == "efficientnet_lite0"
    # the styles' normalisation parameters diverged from their common initialisation
    assert float((model.in5.bias[0] - model.in5.bias[1]).abs().max()) > 1e-3


def test_multistyle_resume_equals_uninterrupted(tmp_path: Path) -> None:
    a = _cfg(tmp_path, output=str(tmp_path / "a.safetensors"), steps=8)
    b = dataclasses.replace(a, output=str(tmp_path / "b.safetensors"))
    full = T.train(a, progress=False)
    part = T.train(b, progress=False, stop_at=3)
    assert part.output is None and not Path(b.output).exists()

    def ctrl_c(step: int, loss: float) -> None:
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(UserError, match="interrupted at step 5; state saved"):
        T.train(b, progress=False, on_step=ctrl_c)
    resumed = T.train(b, progress=False)
    assert resumed.resumed_from == 5 and resumed.losses == full.losses
    for k, v in full.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[k], v, atol=0, rtol=0)
    with pytest.raises(UserError, match="different settings"):
        T.train(dataclasses.replace(b, style_names=("w", "s"), steps=9), progress=False)
    # export_state from the training state gives the same network (fp32 export: exact)
    out = T.export_state(Path(b.output + ".work") / "state.pt",
                         tmp_path / "exported.safetensors", half=False, members={"starry_night": {"license": "PD"}})
    net, meta = load_multistyle(out)
    assert meta["styles"][1]["license"] == "PD" and meta["training"]["steps"] == 8
    for k, v in full.model.state_dict().items():
        torch.testing.assert_close(net.state_dict()[k], v, atol=0, rtol=0)


def test_old_single_style_state_still_resumes(tmp_path: Path) -> None:
    """A state saved before multi-style fields existed (no 'styles' keys) is the same run."""
    styles = shared_path("data", "styles")
    cfg = _cfg(tmp_path, style=str(styles / "wave.jpg"), styles=())
    saved = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("styles", "style_names")}
    assert same_run(saved, cfg)
    assert not same_run({**saved, "lr": 1.0}, cfg)


def test_bad_multistyle_inputs(tmp_path: Path) -> None:
    styles = shared_path("data", "styles")
    with pytest.raises(UserError, match="missing path"):
        T.train(_cfg(tmp_path, styles=(str(styles / "wave.jpg"), str(tmp_path / "nope.jpg"))), progress=False)
    with pytest.raises(UserError, match="distinct names"):
        T.train(_cfg(tmp_path, style_names=("same", "same")), progress=False)
    with pytest.raises(UserError, match="either one style image or several"):
        T.train(_cfg(tmp_path, style=str(styles / "wave.jpg")), progress=False)
    with pytest.raises(UserError, match="unknown style 'nope'"):
        T.train(_cfg(tmp_path), progress=False, members={"nope": {"description": "x"}})
    assert not (tmp_path / "multi.safetensors.work").exists()


def test_cli_train_several_styles_writes_a_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from models.cli import main
    from models.nets.multistyle import MixedStylizer
    from models.styles.registry import list_styles, load_stylizer

    monkeypatch.setenv("STYLECAST_STYLES_DIR", str(tmp_path / "styles"))
    styles = shared_path("data", "styles")
    content = str(shared_path("data", "content", "tubingen.jpg"))
    args = ["train", "--style", str(styles / "wave.jpg"), f"night={styles / 'starry_night.jpg'}", "--content", content,
            "--size", "32", "--style-size", "48", "--batch-size", "2", "--steps", "2", "--device", "cpu",
            "--preview-every", "2", "--style-description", "night=Van Gogh", "--license", "PD"]
    assert main([*args, "-o", "duo"]) == 0
    assert "multi-style network (wave, night)" in capsys.readouterr().out
    entries = {e.name: e for e in list_styles()}
    assert entries["duo:night"].description == "Van Gogh" and entries["duo:wave"].license == "PD"
    assert isinstance(load_stylizer("duo:night=1,wave=1"), MixedStylizer)
    assert (tmp_path / "styles" / "duo.safetensors.work" / "preview_000002.png").exists()
    assert main([*args[:-4], "--style-description", "nope=x", "-o", "trio"]) == 2
    assert "unknown style 'nope'" in capsys.readouterr().err
