"""min 1/2 f'Hf + g'f subject to f >= 0 for a positive definite H of a few dozen variables (the whole-body QP's contact
forces after the accelerations are eliminated, qp.py): block principal pivoting (Judice and Pires 1994; Kim and Park
2011), compiled.

From all variables free (the unconstrained optimum) it moves every variable whose sign is wrong (a negative force,
or a bound pushing the wrong way) across at once, and after ``MAX_FAILS`` rounds without fewer wrong ones
one at a time (Murty's rule, finite). At the controller's QPs the first round is optimal in about half of the solves
and most of the rest take one or two more. Each round solves the free block by Cholesky on the problem scaled to a
unit diagonal. It answers "not solved" (the caller falls back to DAQP) when a free block is not numerically positive
definite or the rounds run out.
"""
from __future__ import annotations

import numpy as np

from envs.jit import compiled

MAX_FAILS = 3  # rounds the number of wrong signs may fail to fall before pivoting one at a time


@compiled
def _cholesky_solve(a: np.ndarray, b: np.ndarray, free: np.ndarray, out: np.ndarray) -> bool:
    """out[free] = a[free, free]^-1 b[free] (out elsewhere untouched); False if that block is not positive definite."""
    idx = np.flatnonzero(free)
    m = len(idx)
    low = np.zeros((m, m))
    for j in range(m):
        s = a[idx[j], idx[j]]
        for p in range(j):
            s -= low[j, p] * low[j, p]
        if not s > 1e-13:  # the scaled diagonal is 1: a pivot this small is a singular block
            return False
        low[j, j] = np.sqrt(s)
        for i in range(j + 1, m):
            t = a[idx[i], idx[j]]
            for p in range(j):
                t -= low[i, p] * low[j, p]
            low[i, j] = t / low[j, j]
    y = np.empty(m)
    for i in range(m):  # L y = b
        t = b[idx[i]]
        for p in range(i):
            t -= low[i, p] * y[p]
        y[i] = t / low[i, i]
    for i in range(m - 1, -1, -1):  # L' x = y
        t = y[i]
        for p in range(i + 1, m):
            t -= low[p, i] * y[p]
        y[i] = t / low[i, i]
    for i in range(m):
        out[idx[i]] = y[i]
    return True


@compiled
def non_negative_qp(hessian: np.ndarray, gradient: np.ndarray, max_rounds: int = 100) -> tuple[np.ndarray, bool]:
    """(f, solved): the minimiser of 1/2 f'Hf + g'f over f >= 0 and whether it was found (see the module)."""
    return warm_non_negative_qp(hessian, gradient, np.ones(len(gradient), dtype=np.bool_), max_rounds)


@compiled
def warm_non_negative_qp(hessian: np.ndarray, gradient: np.ndarray, start: np.ndarray, max_rounds: int = 100
                         ) -> tuple[np.ndarray, bool]:
    """``non_negative_qp`` from the free set ``start`` (m,) instead of all free: the last solve's (f > 0) where the
    problems follow each other. The optimum is unique (H positive definite) and the last round solves its free block
    whatever the start, so a good start saves rounds, not accuracy: the controller's 1,548 QPs of walk_normal_001 took
    4.5 rounds on average from all free, 2.7 from the last solve's set. Only where a force is zero with a zero
    multiplier can two free sets both pass, and their optima differ by rounding (1e-10 in one of twelve clips read;
    dataset-1 tracked the same, clip by clip)."""
    m = len(gradient)
    scale = np.empty(m)
    for i in range(m):
        scale[i] = 1.0 / np.sqrt(max(hessian[i, i], 1e-300))
    h = np.empty((m, m))
    for i in range(m):
        for j in range(m):
            h[i, j] = hessian[i, j] * scale[i] * scale[j]
    minus_g = -gradient * scale
    free = start.copy()
    y = np.zeros(m)
    best, fails = m + 1, 0
    for _ in range(max_rounds):
        y[:] = 0.0
        if not _cholesky_solve(h, minus_g, free, y):
            return y * scale, False
        wrong = np.zeros(m, dtype=np.bool_)
        count, last = 0, -1
        for i in range(m):
            if free[i]:
                bad = y[i] < 0.0
            else:  # the bound's multiplier: the cost's slope at f_i = 0 must point into f_i > 0
                slope = -minus_g[i]
                for j in range(m):
                    if free[j]:
                        slope += h[i, j] * y[j]
                bad = slope < 0.0
            if bad:
                wrong[i] = True
                count += 1
                last = i
        if count == 0:
            return y * scale, True
        if count < best:
            best, fails = count, 0
        else:
            fails += 1
        if fails < MAX_FAILS:
            for i in range(m):
                if wrong[i]:
                    free[i] = not free[i]
        else:  # Murty: the wrong one of largest index alone
            free[last] = not free[last]
    return y * scale, False
