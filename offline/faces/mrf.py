"""Grid MRF labelling: loopy min-sum belief propagation followed by ICM refinement.

Energy E(x) = sum_p D_p(x_p) + sum_(p,q) V_pq(x_p, x_q) on a 4-connected grid, with per-edge
label-pair costs (Song et al. 2017 sec. 3.2; BP as in Felzenszwalb & Huttenlocher 2006, ICM as
in Besag 1986). BP is exact on trees; on loopy grids the ICM pass can only lower the energy.
"""
from __future__ import annotations

import numpy as np


def _check(unary: np.ndarray, pair_h: np.ndarray, pair_v: np.ndarray) -> tuple[int, int, int]:
    if unary.ndim != 3:
        raise ValueError(f"unary: expected (GH,GW,K), got {unary.shape}")
    gh, gw, k = unary.shape
    if pair_h.shape != (gh, max(gw - 1, 0), k, k):
        raise ValueError(f"pair_h: expected {(gh, gw - 1, k, k)}, got {pair_h.shape}")
    if pair_v.shape != (max(gh - 1, 0), gw, k, k):
        raise ValueError(f"pair_v: expected {(gh - 1, gw, k, k)}, got {pair_v.shape}")
    return gh, gw, k


def energy(labels: np.ndarray, unary: np.ndarray, pair_h: np.ndarray, pair_v: np.ndarray) -> float:
    """Total energy of an integer labelling ``(GH,GW)``."""
    gh, gw, _ = _check(unary, pair_h, pair_v)
    ii, jj = np.mgrid[0:gh, 0:gw]
    e = unary[ii, jj, labels].sum()
    if gw > 1:
        e += pair_h[ii[:, :-1], jj[:, :-1], labels[:, :-1], labels[:, 1:]].sum()
    if gh > 1:
        e += pair_v[ii[:-1], jj[:-1], labels[:-1], labels[1:]].sum()
    return float(e)


def _local_costs(labels: np.ndarray, unary: np.ndarray, pair_h: np.ndarray, pair_v: np.ndarray) -> np.ndarray:
    """(GH,GW,K): cost of each label at each node with its neighbours' labels fixed."""
    gh, gw, k = unary.shape
    c = unary.copy()
    ii, jj = np.mgrid[0:gh, 0:gw]
    if gw > 1:
        # right neighbour fixed: pair_h[i,j,:,x_{i,j+1}]
        c[:, :-1] += pair_h[ii[:, :-1], jj[:, :-1], :, labels[:, 1:]]
        c[:, 1:] += pair_h[ii[:, :-1], jj[:, :-1], labels[:, :-1], :]
    if gh > 1:
        c[:-1] += pair_v[ii[:-1], jj[:-1], :, labels[1:]]
        c[1:] += pair_v[ii[:-1], jj[:-1], labels[:-1], :]
    return c


def icm(labels: np.ndarray, unary: np.ndarray, pair_h: np.ndarray, pair_v: np.ndarray,
        *, sweeps: int = 10) -> np.ndarray:
    """Iterated conditional modes on a checkerboard schedule; never raises the energy."""
    _check(unary, pair_h, pair_v)
    x = labels.copy()
    gh, gw, _ = unary.shape
    parity = (np.add.outer(np.arange(gh), np.arange(gw)) % 2).astype(bool)
    for _ in range(sweeps):
        changed = False
        for colour in (False, True):
            c = _local_costs(x, unary, pair_h, pair_v)
            cur = np.take_along_axis(c, x[..., None], -1)[..., 0]
            best = c.argmin(-1)
            better = (parity == colour) & (c.min(-1) < cur - 1e-12)
            if better.any():
                x[better] = best[better]
                changed = True
        if not changed:
            break
    return x


def solve(unary: np.ndarray, pair_h: np.ndarray, pair_v: np.ndarray, *, iterations: int = 30,
          damping: float = 0.5, icm_sweeps: int = 10) -> np.ndarray:
    """Minimise the grid energy; returns integer labels ``(GH,GW)``.

    Min-sum loopy BP with damped, min-normalised messages, then ICM from the BP decoding.
    """
    gh, gw, k = _check(np.asarray(unary, np.float64), pair_h, pair_v)
    u = np.asarray(unary, np.float64)
    ph = np.asarray(pair_h, np.float64)
    pv = np.asarray(pair_v, np.float64)
    # m_r[i,j]: (i,j)->(i,j+1); m_l[i,j]: (i,j+1)->(i,j); m_d[i,j]: (i,j)->(i+1,j); m_u[i,j]: (i+1,j)->(i,j)
    m_r = np.zeros((gh, max(gw - 1, 0), k))
    m_l = np.zeros_like(m_r)
    m_d = np.zeros((max(gh - 1, 0), gw, k))
    m_u = np.zeros_like(m_d)

    def beliefs() -> np.ndarray:
        b = u.copy()
        b[:, 1:] += m_r
        b[:, :-1] += m_l
        b[1:] += m_d
        b[:-1] += m_u
        return b

    for _ in range(iterations):
        b = beliefs()
        new_r = ((b[:, :-1] - m_l)[..., :, None] + ph).min(-2)
        new_l = ((b[:, 1:] - m_r)[..., None, :] + ph).min(-1)
        new_d = ((b[:-1] - m_u)[..., :, None] + pv).min(-2)
        new_u = ((b[1:] - m_d)[..., None, :] + pv).min(-1)
        for old, new in ((m_r, new_r), (m_l, new_l), (m_d, new_d), (m_u, new_u)):
            if new.size:
                new -= new.min(-1, keepdims=True)
                old *= damping
                old += (1.0 - damping) * new
    labels = beliefs().argmin(-1)
    refined = icm(labels, u, ph, pv, sweeps=icm_sweeps)
    return refined
