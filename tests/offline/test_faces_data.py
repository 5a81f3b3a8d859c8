"""offline.faces on real data: dlib landmarks, CUHK sketches, shared portraits, CLI, video.

Needs the optional dlib packages (skips without them) and ../shared (skips when absent).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.conftest import shared_path

pytest.importorskip("dlib", reason="optional face dependency dlib-bin not installed")
from offline.faces import FaceStyleConfig, FaceStylizer, load_exemplars  # noqa: E402
from offline.faces.landmarks import default_detector, five_points, predictor_path  # noqa: E402
from offline.faces.quality import ssim  # noqa: E402
from offline.faces.video import VideoFaceStylizer  # noqa: E402


@pytest.fixture(scope="module")
def detector():  # type: ignore[no-untyped-def]
    try:
        predictor_path()
    except Exception as exc:  # noqa: BLE001 - models package missing: skip, not fail
        pytest.skip(f"dlib 68-point model not available: {exc}")
    return default_detector()


@pytest.fixture(scope="module")
def sketches(detector):  # type: ignore[no-untyped-def]
    return load_exemplars(shared_path("data", "faces", "exemplars_sketch"), detector)


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def test_detector_landmarks_agree_with_the_shared_5_point_annotations(detector) -> None:  # type: ignore[no-untyped-def]
    root = shared_path("data", "faces", "photos")
    files = sorted((root / "landmark").glob("*.txt"))
    assert len(files) == 4
    for txt in files:
        truth = np.loadtxt(txt)
        faces = detector(_rgb(root / (txt.stem + ".png")))
        assert len(faces) == 1, txt.stem
        err = np.linalg.norm(five_points(faces[0].landmarks) - truth, axis=1).mean()
        # Normalised mean error vs inter-ocular distance; measured 0.027-0.038 on these photos.
        assert err / np.linalg.norm(truth[0] - truth[1]) < 0.06, (txt.stem, err)


def test_multi_exemplar_beats_the_average_single_exemplar_on_a_held_out_sketch(sketches) -> None:  # type: ignore[no-untyped-def]
    held = sketches.items[0]
    others = sketches.without(held.name)
    truth = cv2.cvtColor(held.styled, cv2.COLOR_RGB2GRAY)

    def score(ex) -> float:  # type: ignore[no-untyped-def]
        out = FaceStylizer(ex).stylize_aligned(held.photo, held.landmarks).image
        return ssim(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY), truth)

    multi = score(others)
    singles = [score(others.only([o.name])) for o in others.items]
    photo = ssim(cv2.cvtColor(held.photo, cv2.COLOR_RGB2GRAY), truth)
    assert multi > np.mean(singles) + 0.01, (multi, singles)
    assert multi > photo, (multi, photo)


def test_cli_surround_photo_stylizes_the_face_and_leaves_the_rest_of_the_image(tmp_path, detector) -> None:  # type: ignore[no-untyped-def]
    from models.cli import main
    src = shared_path("data", "faces", "photos", "astronaut_eileen_collins.png")
    out = tmp_path / "out.png"
    rc = main(["faces", str(src), "--exemplars", str(shared_path("data", "faces", "exemplars_sketch")),
               "-o", str(out), "--surround", "photo"])
    assert rc == 0 and out.is_file()
    a, b = _rgb(src).astype(int), _rgb(out).astype(int)
    face = detector(_rgb(src))[0]
    x0, y0, x1, y1 = face.box
    assert np.abs(a - b)[y0 + 20:y1 - 20, x0 + 20:x1 - 20].mean() > 20  # stylized (grey sketch)
    assert np.abs(a - b)[400:, :].max() == 0  # the suit, far from the face, is untouched


def _edge_steps(out: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Chroma (Lab a,b magnitude) and luminance steps across the face matte's edge: mean over a
    ring just outside the matte minus a ring just inside. A pasted-on face has large steps."""
    lab = cv2.cvtColor(out.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    inside = (mask > 0.9).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    ring_in = inside.astype(bool) & ~cv2.erode(inside, k).astype(bool)
    outside = (mask < 0.02).astype(np.uint8)
    ring_out = outside.astype(bool) & ~cv2.erode(outside, k).astype(bool)
    return (abs(float(chroma[ring_out].mean() - chroma[ring_in].mean())),
            abs(float(lab[..., 0][ring_out].mean() - lab[..., 0][ring_in].mean())))


@pytest.mark.parametrize("photo", ["girl-2128294_1920.png", "model-2911329_1920.png"])
def test_surround_look_blends_the_face_into_the_frame(sketches, detector, photo) -> None:  # type: ignore[no-untyped-def]
    """With the default surround="look" the whole frame takes the pencil set's look: the colour
    step at the matte edge (a grey face on a colour photo) is gone, and the frame is grey."""
    img = _rgb(shared_path("data", "faces", "photos", photo))
    face = detector(img)[0]
    outs = {s: FaceStylizer(sketches, config=FaceStyleConfig(surround=s)).stylize_image(img, [face])[0]
            for s in ("photo", "look")}
    st = FaceStylizer(sketches)
    _, mask, _ = st.stylize_face(img.astype(np.float32) / 255.0, face.landmarks)
    chroma = {s: _edge_steps(o, mask)[0] for s, o in outs.items()}
    assert chroma["photo"] > 8 and chroma["look"] < 0.2 * chroma["photo"], chroma
    lab = cv2.cvtColor(outs["look"].astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() < 2.0  # a grey pencil set gives a grey frame
    # the face itself is the same stylization either way (only what surrounds it changes)
    core = mask > 0.99
    assert np.abs(outs["look"].astype(int) - outs["photo"].astype(int))[core].max() <= 1


def test_cli_no_face_writes_the_input_unchanged_with_a_message(tmp_path, capsys, detector) -> None:  # type: ignore[no-untyped-def]
    from models.cli import main
    src = tmp_path / "noface.png"
    img = cv2.resize(cv2.imread(str(shared_path("data", "content", "chicago.jpg"))), (320, 240))
    cv2.imwrite(str(src), img)
    out = tmp_path / "out.png"
    rc = main(["faces", str(src), "--exemplars", str(shared_path("data", "faces", "exemplars_sketch")),
               "-o", str(out)])
    assert rc == 0
    assert "no face found" in capsys.readouterr().err
    np.testing.assert_array_equal(cv2.imread(str(out)), img)


def _clip(n: int, *, motion: float = 1.0, noise: float = 4.0) -> list[np.ndarray]:
    """A face clip made from a shared portrait: slow pan + zoom, plus per-frame sensor noise."""
    img = _rgb(shared_path("data", "faces", "photos", "male-467711_1920.png"))
    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        s = 0.5 * (1.0 + 0.01 * i * motion)
        m = np.array([[s, 0, -30 + 1.5 * i * motion], [0, s, -20 + 0.5 * i * motion]])
        f = cv2.warpAffine(img, m, (192, 224), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        frames.append(np.clip(f + rng.normal(0, noise, f.shape), 0, 255).astype(np.uint8))
    return frames


def test_video_temporal_smoothing_reduces_flicker(sketches, detector) -> None:  # type: ignore[no-untyped-def]
    # A still face with sensor noise: any frame-to-frame change of the output inside the face is
    # flicker (detector jitter moves the landmarks, the MRF may switch exemplars).
    from models.flow.estimators import DISFlow

    frames = _clip(6, motion=0.0, noise=6.0)
    flicker = {}
    for name, cfg, flow in (
        ("off", FaceStyleConfig(landmark_smoothing=0.0, label_stickiness=0.0, temporal_strength=0.0), None),
        ("on", FaceStyleConfig(), DISFlow()),
    ):
        video = VideoFaceStylizer(FaceStylizer(sketches, config=cfg, detector=detector), flow=flow)
        res = [video(f) for f in frames]
        assert all(n == 1 for _, n in res)
        outs = np.stack([o for o, _ in res]).astype(np.float32)[:, 70:170, 60:140]
        flicker[name] = float(np.abs(np.diff(outs, axis=0)).mean())
    noise_floor = float(np.abs(np.diff(np.stack(frames).astype(np.float32)[:, 70:170, 60:140], axis=0)).mean())
    assert flicker["on"] < 0.7 * flicker["off"], (flicker, noise_floor)


def test_cli_video_keeps_every_frame(tmp_path, detector) -> None:  # type: ignore[no-untyped-def]
    from models import io as media
    from models.cli import main
    src = tmp_path / "clip.mp4"
    frames = _clip(6)
    with media.VideoWriter(src, width=192, height=224, fps=10) as w:
        for f in frames:
            w.write(f)
    out = tmp_path / "out.mp4"
    rc = main(["faces", str(src), "--exemplars", str(shared_path("data", "faces", "exemplars_sketch")),
               "-o", str(out)])
    assert rc == 0
    with media.open_video(out) as r:
        got = list(r)
    assert len(got) == 6 and got[0].shape == (224, 192, 3)
    # The face region changed (sketch style), the frame corners did not (beyond codec noise).
    assert np.abs(got[3].astype(int) - frames[3].astype(int))[60:160, 60:130].mean() > 15
