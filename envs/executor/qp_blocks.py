"""The whole-body controller's QP by blocks, compiled: its default path (qp.py's ``solve_qp`` on the whole matrix is
the general one: with joint-torque limits, and where this one does not solve).

The variables are the accelerations a (nv, free) and the contact forces f (nf, >= 0). The acceleration tasks, the
joints' PD and the floating base's equations of motion make the acceleration block H_aa; the equations (written
w |M_6 a + V f + bias_6|^2 with V = -G_6, the forces' generalized columns' first six rows), the forces'
regularization and the centre-of-pressure term the force block H_ff; the two meet only through w M_6' V, of rank 6,
which is never formed. ``assemble_blocks`` builds the blocks and ``solve_blocks`` eliminates the accelerations with
six right-hand sides and solves the forces by block principal pivoting (nnqp.py). In Python the same steps cost about
90 NumPy calls of a few microseconds each per solve.
"""
from __future__ import annotations

import numpy as np

from envs.jit import compiled
from envs.executor.nnqp import warm_non_negative_qp


@compiled
def assemble_blocks(joint_weight: np.ndarray, joint_target: np.ndarray, mass6: np.ndarray, bias6: np.ndarray,
                    forces6: np.ndarray, rows: np.ndarray, weights: np.ndarray, targets: np.ndarray,
                    weight_dynamics: float, regularization: float, moment: np.ndarray, weight_moment: float
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(H_aa, g_a, H_ff, g_f) of 1/2 x'Hx + g'x. ``joint_weight``/``joint_target`` (nv,): every dof's PD (identity rows);
    ``mass6`` (6, nv), ``forces6`` (6, nf), ``bias6`` (6,): the floating base's equations M_6 a + V f + bias_6 = 0 at
    ``weight_dynamics``; ``rows`` (R, nv), ``weights``, ``targets`` (R,): the acceleration tasks; ``regularization``
    on every force; ``moment`` (nf, 2) at ``weight_moment``: the forces' horizontal moment about the planned centre of
    pressure (none where it has no rows). All arrays contiguous."""
    nv, nf = len(joint_weight), forces6.shape[1]
    weighted = np.ascontiguousarray(rows.T) * weights  # (nv, R)
    h_aa = weighted @ rows
    w_mass6 = weight_dynamics * mass6
    h_aa += np.ascontiguousarray(w_mass6.T) @ mass6
    for i in range(nv):
        h_aa[i, i] += joint_weight[i]
    g_a = np.ascontiguousarray(w_mass6.T) @ bias6 - joint_weight * joint_target - weighted @ targets
    w_forces6 = weight_dynamics * forces6
    h_ff = np.ascontiguousarray(w_forces6.T) @ forces6
    for i in range(nf):
        h_ff[i, i] += regularization
    if weight_moment > 0.0 and nf > 0 and moment.shape[0] == nf:
        h_ff += weight_moment * (moment @ np.ascontiguousarray(moment.T))
    g_f = np.ascontiguousarray(w_forces6.T) @ bias6
    return h_aa, g_a, h_ff, g_f


@compiled
def _cholesky_solve(low: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """X with L L' X = ``rhs`` (n, k) for the lower Cholesky factor ``low``: two triangular sweeps."""
    n, k = rhs.shape
    x = rhs.copy()
    for i in range(n):  # L y = b
        for j in range(i):
            lij = low[i, j]
            for c in range(k):
                x[i, c] -= lij * x[j, c]
        for c in range(k):
            x[i, c] /= low[i, i]
    for i in range(n - 1, -1, -1):  # L' x = y
        for j in range(i + 1, n):
            lji = low[j, i]
            for c in range(k):
                x[i, c] -= lji * x[j, c]
        for c in range(k):
            x[i, c] /= low[i, i]
    return x


@compiled
def _cholesky_solve_7(low: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``_cholesky_solve`` for seven right-hand sides (the coupling's six columns and the gradient: the floating base
    has six equations), each row's seven sums kept in registers: the same operations in the same order, so the same
    numbers, in 8 us instead of 19 (the 69 dofs of the humanoid)."""
    n = rhs.shape[0]
    x = rhs.copy()
    for i in range(n):  # L y = b
        t = x[i, 0], x[i, 1], x[i, 2], x[i, 3], x[i, 4], x[i, 5], x[i, 6]
        for j in range(i):
            t = _less(t, low[i, j], x, j)
        _store_row(x, i, low[i, i], t)
    for i in range(n - 1, -1, -1):  # L' x = y
        t = x[i, 0], x[i, 1], x[i, 2], x[i, 3], x[i, 4], x[i, 5], x[i, 6]
        for j in range(i + 1, n):
            t = _less(t, low[j, i], x, j)
        _store_row(x, i, low[i, i], t)
    return x


@compiled
def _less(t: tuple, factor: float, x: np.ndarray, j: int) -> tuple:
    """The seven sums ``t`` less ``factor`` times row ``j`` of ``x``."""
    return (t[0] - factor * x[j, 0], t[1] - factor * x[j, 1], t[2] - factor * x[j, 2], t[3] - factor * x[j, 3],
            t[4] - factor * x[j, 4], t[5] - factor * x[j, 5], t[6] - factor * x[j, 6])


@compiled
def _store_row(x: np.ndarray, i: int, pivot: float, t: tuple) -> None:
    """Row ``i`` of ``x``: the seven sums divided by the pivot."""
    for c in range(7):
        x[i, c] = t[c] / pivot


@compiled
def solve_blocks(h_aa: np.ndarray, g_a: np.ndarray, h_ff: np.ndarray, g_f: np.ndarray, left: np.ndarray,
                 right: np.ndarray, start: np.ndarray) -> tuple[np.ndarray, bool]:
    """(x, solved): min 1/2 x'Hx + g'x over x = (a, f), f >= 0, for H = [[H_aa, U V], [V' U', H_ff]] with the coupling
    U = ``left`` (nv, r), V = ``right`` (r, nf). The accelerations are eliminated through H_aa's Cholesky factor
    (r + 1 right-hand sides; np.linalg.LinAlgError where H_aa is not positive definite), the forces solved on the
    Schur complement H_ff - V' (U' H_aa^-1 U) V by block principal pivoting; ``solved`` is False where that does not
    solve (x is then not the optimum). ``start``: the forces' free set to pivot from (nnqp.warm_non_negative_qp; all
    True where nothing better is known)."""
    nv, nf, r = len(g_a), len(g_f), left.shape[1]
    low = np.linalg.cholesky(h_aa)
    rhs = np.empty((nv, r + 1))
    rhs[:, :r] = left
    rhs[:, r] = g_a
    solved = _cholesky_solve_7(low, rhs) if r + 1 == 7 else _cholesky_solve(low, rhs)
    per_column = np.ascontiguousarray(solved[:, :r])  # H_aa^-1 U
    at_zero = np.ascontiguousarray(solved[:, r])  # H_aa^-1 g_a
    x = np.empty(nv + nf)
    if nf == 0:
        x[:] = -at_zero
        return x, True
    core = np.ascontiguousarray(left.T) @ per_column
    core = 0.5 * (core + core.T)
    right_t = np.ascontiguousarray(right.T)
    reduced = h_ff - right_t @ (core @ right)
    reduced = 0.5 * (reduced + reduced.T)
    reduced_gradient = g_f - right_t @ (np.ascontiguousarray(left.T) @ at_zero)
    forces, ok = warm_non_negative_qp(reduced, reduced_gradient, start)
    x[:nv] = -(at_zero + per_column @ (right @ forces))
    x[nv:] = forces
    return x, ok


def whole_problem(h_aa: np.ndarray, g_a: np.ndarray, h_ff: np.ndarray, g_f: np.ndarray, left: np.ndarray,
                  right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The blocks as one Hessian and gradient (the coupling U V written out), for qp.solve_qp."""
    nv, nf = len(g_a), len(g_f)
    hessian = np.zeros((nv + nf, nv + nf))
    hessian[:nv, :nv], hessian[nv:, nv:] = h_aa, h_ff
    hessian[:nv, nv:] = left @ right
    hessian[nv:, :nv] = hessian[:nv, nv:].T
    return hessian, np.concatenate((g_a, g_f))
