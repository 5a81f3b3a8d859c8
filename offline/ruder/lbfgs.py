"""L-BFGS for one image tensor without a host sync per stored pair (for per-frame optimization on a GPU).

``torch.optim.LBFGS`` computes the direction with the two-loop recursion: per stored pair a dot
product whose 0-dim result is passed as ``alpha=`` to ``add_``, i.e. turned into a Python number.
With the 100 pairs of Ruder et al.'s setting that is 200 host-device synchronisations and ~400
tiny kernels per iteration, while VGG19's forward + backward at 1024x436 is a few milliseconds
on an H100: the optimizer, not the network, would set the pace.

Here the inverse-Hessian product uses the compact representation of Byrd, Nocedal & Schnabel
(1994, "Representations of quasi-Newton matrices and their use in limited memory methods",
Thm 2.2; Nocedal & Wright 2006, eq. 7.24) with H_0 = gamma*I:

    H g = gamma*g + S p - gamma*Y u,   u = R^-1 S^T g,
    p = R^-T ((D + gamma*Y^T Y) u - gamma*Y^T g),

R = upper triangle of S^T Y (chronological order), D its diagonal. S^T Y and Y^T Y are kept up
to date with two passes over the history per new pair, and a direction costs four more (S^T g,
Y^T g, S p, Y u) and two 100x100 triangular solves: a handful of kernels and no sync. That is six
passes over the history per iteration against the two-loop's four, so where memory bandwidth
rather than latency is the limit it is slower: on a CPU torch's optimizer stays (measured 0.71x
at 109x256 and 0.66x at 436x1024 on 1 thread, docs/bench/offline.md); :func:`lbfgs_for` picks.

In exact arithmetic this is the two-loop direction, so the iterates are torch's; the rest (first
step, curvature check ys > 1e-10, gamma = s'y / y'y, strong-Wolfe line search, state kept across
``step`` calls) follows ``torch.optim.LBFGS`` with ``lr=1`` and its tolerances off, which is how
:mod:`offline.ruder.optimize` uses it (tests compare the iterates).
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from torch.optim.lbfgs import _strong_wolfe  # torch's Lua-ported line search (private, stable since 1.x)


class CompactLBFGS:
    """Minimise ``closure()`` over the tensor ``x`` (a leaf with ``requires_grad``; updated in place)."""

    def __init__(self, x: Tensor, *, history: int = 100) -> None:
        if history < 1:
            raise ValueError(f"history: expected >= 1, got {history}")
        self.x, self.m = x, history
        n = x.numel()
        self.S = x.new_zeros(history, n)  # ring buffers of steps s and gradient changes y
        self.Y = x.new_zeros(history, n)
        self.SY = x.new_zeros(history, history)  # SY[i, j] = s_i . y_j, by slot
        self.YY = x.new_zeros(history, history)
        self.k = 0  # pairs stored
        self.head = 0  # slot of the oldest pair once the buffers are full
        self.gamma: Tensor | float = 1.0
        self.d: Tensor | None = None
        self.t: Tensor | float = 1.0
        self.prev_grad: Tensor | None = None
        self.n_iter = 0
        self.func_evals = 0

    # -- memory ------------------------------------------------------------------------------
    def _push(self, s: Tensor, y: Tensor) -> None:
        if self.k < self.m:
            j = self.k
            self.k += 1
        else:
            j, self.head = self.head, (self.head + 1) % self.m
        self.S[j], self.Y[j] = s, y
        self.SY[:, j] = self.S @ y  # s_i . y_new (unused slots hold zeros)
        ys_yy = self.Y @ torch.stack((s, y), dim=1)  # one pass over Y: s_new . y_l and y_new . y_l
        self.SY[j, :] = ys_yy[:, 0]
        self.YY[:, j] = ys_yy[:, 1]
        self.YY[j, :] = ys_yy[:, 1]

    def _direction(self, g: Tensor) -> Tensor:
        """-H g for the stored pairs (steepest descent scaled by gamma when there are none)."""
        if self.k == 0:
            return g.neg().mul_(self.gamma)
        k, gamma = self.k, self.gamma
        S, Y = self.S[:k], self.Y[:k]
        a, b = S @ g, (Y @ g).mul_(gamma)
        SY, YY = self.SY[:k, :k], self.YY[:k, :k]
        if self.head:  # full ring: rotate slot order to chronological order for the triangle
            h = -self.head
            a, b = torch.roll(a, h), torch.roll(b, h)
            SY, YY = torch.roll(SY, (h, h), (0, 1)), torch.roll(YY, (h, h), (0, 1))
        R = torch.triu(SY)
        u = torch.linalg.solve_triangular(R, a[:, None], upper=True)[:, 0]
        rhs = torch.diagonal(SY) * u + (YY @ u) * gamma - b
        p = torch.linalg.solve_triangular(R.T, rhs[:, None], upper=False)[:, 0]
        if self.head:
            p, u = torch.roll(p, self.head), torch.roll(u, self.head)
        hg = g * gamma + S.T @ p - (Y.T @ u) * gamma
        return hg.neg_()

    # -- optimisation ------------------------------------------------------------------------
    def _grad(self) -> Tensor:
        if self.x.grad is None:
            raise RuntimeError("closure() must call backward() on the loss: x.grad is None")
        return self.x.grad.reshape(-1).clone()

    @torch.no_grad()
    def step(self, closure: Callable[[], Tensor], *, max_iter: int, max_eval: int | None = None) -> float:
        """Up to ``max_iter`` iterations / ``max_eval`` evaluations (default 1.25x); the loss at entry."""
        max_eval = max_eval if max_eval is not None else max_iter * 5 // 4
        closure = torch.enable_grad()(closure)
        x = self.x
        loss = orig = float(closure())
        evals = 1
        self.func_evals += 1
        g = self._grad()

        def obj_func(x0: Tensor, t: float, d: Tensor) -> tuple[float, Tensor]:
            x.add_(d.view_as(x), alpha=t)
            f = float(closure())
            grad = self._grad()
            x.copy_(x0)
            return f, grad

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            self.n_iter += 1
            if self.n_iter == 1:
                d = g.neg()
            else:
                assert self.d is not None and self.prev_grad is not None
                y = g.sub(self.prev_grad)
                s = self.d.mul(self.t)
                ys = y.dot(s)
                if ys > 1e-10:  # curvature condition (one sync per iteration, as in torch)
                    self._push(s, y)
                    self.gamma = ys / y.dot(y)
                d = self._direction(g)
            if self.prev_grad is None:
                self.prev_grad = g.clone()
            else:
                self.prev_grad.copy_(g)
            t: Tensor | float = min(1.0, 1.0 / float(g.abs().sum())) if self.n_iter == 1 else 1.0
            gtd = g.dot(d)
            self.d, self.t = d, t
            if gtd > 1:  # torch's "gtd > -tolerance_change" with its tolerance off (-1)
                break
            x0 = x.detach().clone()
            loss, g, t, ls_evals = _strong_wolfe(obj_func, x0, t, d, loss, g, gtd, max_ls=max_eval - evals)
            x.add_(d.view_as(x), alpha=t)
            self.t = t
            evals += ls_evals
            self.func_evals += ls_evals
            if n_iter == max_iter or evals >= max_eval:
                break
        return orig


class TorchLBFGS:
    """``torch.optim.LBFGS`` (history, strong Wolfe, tolerances off) behind :class:`CompactLBFGS`'s
    ``step`` signature: on a CPU its two-loop recursion reads the history fewer times."""

    def __init__(self, x: Tensor, *, history: int = 100) -> None:
        self.opt = torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=history, tolerance_grad=-1,
                                     tolerance_change=-1, line_search_fn="strong_wolfe")

    def step(self, closure: Callable[[], Tensor], *, max_iter: int, max_eval: int | None = None) -> float:
        group = self.opt.param_groups[0]
        group["max_iter"] = max_iter
        group["max_eval"] = max_eval if max_eval is not None else max_iter * 5 // 4
        return float(self.opt.step(closure).detach())  # torch returns the first closure value, still in the graph


def lbfgs_for(x: Tensor, *, history: int = 100) -> CompactLBFGS | TorchLBFGS:
    """The L-BFGS for ``x``'s device: the sync-free compact form on CUDA, torch's two-loop elsewhere
    (same iterates in exact arithmetic; tests/offline/test_lbfgs.py)."""
    return CompactLBFGS(x, history=history) if x.is_cuda else TorchLBFGS(x, history=history)
