"""offline.faces: alignment, MRF solver, seam filter, pass-through (no dlib, no shared data)."""
from __future__ import annotations

import itertools

import cv2
import numpy as np
import pytest

from offline.faces import FaceStyleConfig, FaceStylizer
from offline.faces.align import apply_affine, fit_similarity, piecewise_affine_maps, warp_to
from offline.faces.exemplars import Exemplar, ExemplarSet
from offline.faces.mrf import energy, icm, solve
from offline.faces.seams import remove_seams, seam_band, seam_gradient


def _blobs(points: np.ndarray, hw: tuple[int, int], sigma: float = 2.0) -> np.ndarray:
    ys, xs = np.mgrid[0:hw[0], 0:hw[1]].astype(np.float32)
    img = np.zeros(hw, np.float32)
    for x, y in points:
        img += np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma ** 2))
    return img


def _landmarks(rng: np.random.Generator) -> np.ndarray:
    # 4x4 well-separated points, jittered: a face-sized non-degenerate layout.
    g = np.stack(np.meshgrid(np.linspace(50, 150, 4), np.linspace(60, 190, 4)), -1).reshape(-1, 2)
    return g + rng.uniform(-6, 6, g.shape)


def test_piecewise_affine_moves_exemplar_landmarks_onto_input_landmarks() -> None:
    # Blobs drawn at the exemplar landmarks must land within 1 px of the input landmarks.
    rng = np.random.default_rng(0)
    src = _landmarks(rng)
    # Non-rigid target: rotate/scale/shift plus independent per-point displacements.
    sim = np.array([[1.1 * np.cos(0.2), -1.1 * np.sin(0.2), 8.0], [1.1 * np.sin(0.2), 1.1 * np.cos(0.2), -20.0]])
    dst = apply_affine(sim, src) + rng.uniform(-5, 5, src.shape)
    hw = (250, 200)
    warped = warp_to(_blobs(src, (260, 220)), piecewise_affine_maps(src, dst, hw))
    for x, y in dst:  # blob centroid in a window around each target landmark
        x0, y0 = int(round(x)) - 6, int(round(y)) - 6
        win = warped[y0:y0 + 13, x0:x0 + 13]
        wy, wx = np.mgrid[y0:y0 + 13, x0:x0 + 13]
        cx, cy = (win * wx).sum() / win.sum(), (win * wy).sum() / win.sum()
        assert np.hypot(cx - x, cy - y) < 1.0, (x, y, cx, cy)


def test_piecewise_affine_of_a_global_affine_is_that_affine() -> None:
    rng = np.random.default_rng(1)
    src = _landmarks(rng)
    a = np.array([[0.9, 0.1, 5.0], [-0.05, 1.05, 3.0]])
    dst = apply_affine(a, src)
    mx, my = piecewise_affine_maps(src, dst, (250, 200))
    ys, xs = np.mgrid[0:250, 0:200]
    inv = cv2.invertAffineTransform(a)
    # Inside the landmarks' hull the map is exactly the inverse affine.
    sel = (xs > 70) & (xs < 140) & (ys > 80) & (ys < 180)
    ex = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
    ey = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    assert np.abs(mx - ex)[sel].max() < 1e-3 and np.abs(my - ey)[sel].max() < 1e-3


def test_fit_similarity_recovers_a_known_transform() -> None:
    src = _landmarks(np.random.default_rng(2))
    m = np.array([[0.8 * np.cos(-0.4), -0.8 * np.sin(-0.4), 11.0], [0.8 * np.sin(-0.4), 0.8 * np.cos(-0.4), -7.0]])
    np.testing.assert_allclose(fit_similarity(src, apply_affine(m, src)), m, atol=1e-9)


def _brute_force(unary: np.ndarray, ph: np.ndarray, pv: np.ndarray) -> tuple[np.ndarray, float]:
    gh, gw, k = unary.shape
    best, best_e = None, np.inf
    for combo in itertools.product(range(k), repeat=gh * gw):
        lab = np.array(combo).reshape(gh, gw)
        e = energy(lab, unary, ph, pv)
        if e < best_e:
            best, best_e = lab, e
    return best, best_e


def test_mrf_on_a_hand_made_grid_returns_the_known_optimum() -> None:
    # 3x3 grid, 3 labels. The data prefers label 0 on the left column, 1 in the middle, 2 on the
    # right; the centre node alone prefers 2 by 0.25 (a "noisy" patch). With Potts weight 0.3,
    # switching the centre to 2 saves 0.25 + 0.3 (right edge) but costs 0.6 (two vertical edges),
    # so the optimum is [0,1,2] on every row, which is also cheaper (2.45) than merging the middle
    # column into a neighbour ([0,2,2]: 2.9, [0,0,2]: 3.9).
    unary = np.full((3, 3, 3), 1.0)
    unary[:, 0, 0] = 0.0
    unary[:, 1, 1] = 0.2
    unary[:, 2, 2] = 0.0
    unary[1, 1] = [1.0, 0.25, 0.0]
    potts = 0.3 * (1.0 - np.eye(3))
    ph = np.broadcast_to(potts, (3, 2, 3, 3)).copy()
    pv = np.broadcast_to(potts, (2, 3, 3, 3)).copy()
    want, want_e = _brute_force(unary, ph, pv)
    np.testing.assert_array_equal(want, np.array([[0, 1, 2]] * 3))  # the hand-derived optimum
    got = solve(unary, ph, pv)
    np.testing.assert_array_equal(got, want)
    assert energy(got, unary, ph, pv) == pytest.approx(want_e) == pytest.approx(2.45)
    assert unary[1, 1].argmin() == 2  # the data term alone would pick 2 at the centre


def test_mrf_matches_brute_force_on_random_chains_and_icm_never_raises_energy() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):  # BP is exact on a chain (a tree)
        unary = rng.uniform(0, 1, (1, 7, 3))
        ph = rng.uniform(0, 1, (1, 6, 3, 3))
        pv = np.zeros((0, 7, 3, 3))
        _, want_e = _brute_force(unary, ph, pv)
        assert energy(solve(unary, ph, pv, icm_sweeps=0), unary, ph, pv) == pytest.approx(want_e)
    unary = rng.uniform(0, 1, (4, 5, 4))
    ph, pv = rng.uniform(0, 1, (4, 4, 4, 4)), rng.uniform(0, 1, (3, 5, 4, 4))
    start = rng.integers(0, 4, (4, 5))
    assert energy(icm(start, unary, ph, pv), unary, ph, pv) <= energy(start, unary, ph, pv)


def test_mrf_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="pair_h: expected"):
        solve(np.zeros((2, 3, 2)), np.zeros((2, 3, 2, 2)), np.zeros((1, 3, 2, 2)))


def test_seam_filter_reduces_the_seam_gradient_and_keeps_input_edges() -> None:
    h, w = 64, 96
    rng = np.random.default_rng(4)
    texture = cv2.GaussianBlur(rng.uniform(0, 1, (h, w)).astype(np.float32), (0, 0), 2) * 0.2
    guide = np.full((h, w), 0.5, np.float32) + texture
    guide[:, 70:] += 0.3  # a real edge of the input, away from the seam
    # Synthesis from two exemplars: left half from one, right half from another 0.15 brighter.
    out = guide.copy()
    out[:, 48:] += 0.15
    weights = np.zeros((2, h, w))
    weights[0, :, :48] = 1.0
    weights[1, :, 48:] = 1.0
    weights[:, :, 46:50] = 0.5
    band = seam_band(weights, width=6)
    fixed = remove_seams(out, guide, band, radius=6, eps=1e-3)
    seam = np.zeros((h, w), bool)
    seam[:, 46:50] = True
    edge = np.zeros((h, w), bool)
    edge[:, 69:71] = True
    assert seam_gradient(fixed, seam) < 0.5 * seam_gradient(out, seam)
    # Outside the band nothing changes, so the input's own edge is intact.
    assert band[:, 69:71].max() < 1e-3
    assert seam_gradient(fixed, edge) == pytest.approx(seam_gradient(out, edge), rel=1e-6)


def _toy_exemplars(n: int) -> ExemplarSet:
    rng = np.random.default_rng(5)
    lm = _landmarks(rng)
    items = []
    ys, xs = np.mgrid[0:250, 0:200].astype(np.float32)
    for i in range(n):
        # Distinct structure per exemplar (stripes of different period and direction).
        stripes = 0.25 * np.sin(xs * (0.15 + 0.1 * i) + ys * 0.07 * i)
        gray = 0.4 + 0.5 * _blobs(lm, (250, 200), sigma=4.0) + stripes
        styled = np.repeat(np.clip(gray, 0, 1)[..., None], 3, -1)
        items.append(Exemplar(f"e{i}", styled.astype(np.float32), None, lm))
    return ExemplarSet(tuple(items))


def test_no_face_passes_the_image_through_unchanged() -> None:
    img = np.random.default_rng(6).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    fs = FaceStylizer(_toy_exemplars(2), detector=lambda image: [])
    out, faces = fs.stylize_image(img)
    assert faces == [] and out is not img
    np.testing.assert_array_equal(out, img)


def test_stylize_aligned_selects_the_exemplar_that_matches_the_input() -> None:
    ex = _toy_exemplars(3)
    # Input = exemplar 1 exactly: every patch must choose exemplar 1 and reproduce it.
    img = ex.items[1].styled
    res = FaceStylizer(ex, config=FaceStyleConfig()).stylize_aligned(img, ex.items[1].landmarks)
    assert (res.labels == 1).mean() > 0.95
    assert np.abs(res.image - img).mean() < 0.01


def test_config_rejects_bad_values_naming_expected() -> None:
    with pytest.raises(ValueError, match="transfer: expected 'patch' or 'energy'"):
        FaceStyleConfig(transfer="paint")
    with pytest.raises(ValueError, match="stride: expected"):
        FaceStyleConfig(stride=40, patch=20)


def test_cli_reports_bad_paths_as_one_line_errors_without_output(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from models.cli import main
    img = tmp_path / "in.png"
    cv2.imwrite(str(img), np.zeros((32, 32, 3), np.uint8))
    out = tmp_path / "out.png"
    rc = main(["faces", str(img), "--exemplars", str(tmp_path / "nope"), "-o", str(out)])
    assert rc == 2 and not out.exists()
    assert "--exemplars: expected a directory" in capsys.readouterr().err
    rc = main(["faces", str(tmp_path / "missing.png"), "--exemplars", str(tmp_path), "-o", str(out)])
    assert rc == 2 and not out.exists()
    assert "input: expected an image or video file" in capsys.readouterr().err
    (tmp_path / "ex").mkdir()
    rc = main(["faces", str(img), "--exemplars", str(tmp_path / "ex"), "-o", str(tmp_path / "out.mp4")])
    assert rc == 2 and "expected an image path like the input" in capsys.readouterr().err


def test_stylizer_tensor_contract_passes_face_less_frames_through() -> None:
    import torch
    fs = FaceStylizer(_toy_exemplars(2), detector=lambda image: [])
    frames = torch.rand(2, 3, 40, 56)
    out = fs(frames)
    assert out.shape == frames.shape and out.dtype == frames.dtype
    assert torch.allclose(out, frames, atol=0.5 / 255 + 1e-6)  # only the uint8 round trip
    with pytest.raises(ValueError, match=r"expected shape \(N,3,H,W\)"):
        fs(torch.rand(3, 40, 56))
