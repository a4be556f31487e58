"""The whole-body controller's QP: min 1/2 x'Hx + g'x over accelerations (free) and contact forces (>= 0).

The controller (wholebody.py) adds its weighted tasks straight into the Hessian ``H`` and gradient ``g`` (no
stacked least-squares matrix). The free accelerations are then eliminated: their block of ``H`` is positive
definite (every joint has a task of its own), so with its Cholesky factor the problem reduces to one over the
forces alone (the Schur complement), a bound-constrained QP of 4-40 variables for DAQP (Arnstrom et al. 2022)
instead of 73-110. The optimum is the same; the accelerations follow from the forces by two triangular
solves. With joint-torque limits (``wholebody.torque_limits``) the full problem goes to DAQP as before (without
them if DAQP fails).
"""
from __future__ import annotations

import numpy as np

_FREE = 1e30  # DAQP's infinity


def solve_qp(hessian: np.ndarray, gradient: np.ndarray, free: int,
             limits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """min 1/2 x'Hx + g'x with x[free:] >= 0 and, given ``limits`` (C, lo, hi), lo <= C x <= hi."""
    if limits is not None:
        return _full(hessian, gradient, free, limits)
    from scipy.linalg.lapack import dpotrf, dpotrs  # LAPACK itself: scipy's cho_factor wrapper costs as much again

    n = len(gradient)
    factor, info = dpotrf(hessian[:free, :free], lower=1, clean=0)
    if info != 0:
        raise np.linalg.LinAlgError(f"the whole-body QP's acceleration block is not positive definite (potrf {info})")
    if n == free:
        return -dpotrs(factor, gradient, lower=1)[0]
    coupling = hessian[:free, free:]
    solved = dpotrs(factor, np.column_stack((coupling, gradient[:free])), lower=1)[0]
    per_force, at_zero = solved[:, :-1], solved[:, -1]
    reduced = hessian[free:, free:] - coupling.T @ per_force
    reduced = 0.5 * (reduced + reduced.T)
    forces = _non_negative(reduced, gradient[free:] - coupling.T @ at_zero)
    return np.concatenate((-(at_zero + per_force @ forces), forces))


def _non_negative(hessian: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """min 1/2 f'Hf + g'f, f >= 0: DAQP on the problem scaled to a unit diagonal (the forces' weights span
    1e-4 to 1e4); NNLS on its Cholesky form if DAQP fails."""
    import daqp

    m = len(gradient)
    scale = 1.0 / np.sqrt(np.maximum(np.diag(hessian), 1e-300))
    y, _, flag, _ = daqp.solve(hessian * np.outer(scale, scale), gradient * scale, np.zeros((0, m)),
                               np.full(m, _FREE), np.zeros(m), np.zeros(m, dtype=np.int32))
    if flag > 0:
        return np.asarray(y) * scale
    from scipy.optimize import nnls

    lower = np.linalg.cholesky(hessian + 1e-12 * np.eye(m))  # H = L L': 1/2 |L'f + L^-1 g|^2 + const
    return nnls(lower.T, -np.linalg.solve(lower, gradient))[0]


def _full(hessian: np.ndarray, gradient: np.ndarray, free: int,
          limits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """The whole problem with its general constraints, for DAQP, scaled to a unit diagonal (unscaled it
    needed 150-2,000 iterations, scaled 7-17)."""
    import daqp

    n = len(gradient)
    scale = 1.0 / np.sqrt(np.maximum(np.diag(hessian), 1e-12))
    lower = np.zeros(n)
    lower[:free] = -_FREE
    rows = limits[0] * scale
    lower, upper = np.r_[lower, limits[1]], np.r_[np.full(n, _FREE), limits[2]]
    y, _, flag, _ = daqp.solve(hessian * np.outer(scale, scale), gradient * scale, rows, upper, lower,
                               np.zeros(len(upper), dtype=np.int32))
    if flag <= 0:  # as with BVLS before: the limits dropped rather than no torques at all
        return solve_qp(hessian, gradient, free)
    return np.asarray(y) * scale


def bounded_least_squares(a: np.ndarray, b: np.ndarray, free: int,
                          limits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """min ||a x - b||^2 with x[free:] >= 0 (and ``limits``): the same QP in least-squares form."""
    return solve_qp(a.T @ a, -(a.T @ b), free, limits)
