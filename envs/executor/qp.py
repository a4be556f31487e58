"""The whole-body controller's QP on the whole matrix: min 1/2 x'Hx + g'x over accelerations (free) and contact forces
(>= 0). The controller's default path is qp_blocks.py (the same elimination by blocks, compiled); this one takes the
problem with joint-torque limits and where that one does not solve.

The free accelerations are eliminated: their block of ``H`` is positive definite (every joint has a task of its
own), so with its Cholesky factor the problem reduces to one over the forces alone (the Schur complement), a
bound-constrained QP of 4-64 variables (block principal pivoting, nnqp.py; DAQP, Arnstrom et al. 2022, where that does
not solve) instead of 73-133. The optimum is the same; the accelerations follow from the forces by two triangular
solves. With joint-torque limits (``wholebody.torque_limits``) the full problem goes to DAQP as before (without them
if DAQP fails).
"""
from __future__ import annotations

import numpy as np

FREE = 1e30  # DAQP's infinity: a bound at or beyond it is no bound


def scaled_daqp(hessian: np.ndarray, gradient: np.ndarray, rows: np.ndarray, upper: np.ndarray, lower: np.ndarray,
                floor: float = 1e-12) -> np.ndarray | None:
    """min 1/2 x'Hx + g'x with simple bounds on every x (the first len(g) entries of ``upper``/``lower``) and
    ``lower[n:] <= rows x <= upper[n:]``, by DAQP on the problem scaled to a unit diagonal (x = s y; the task
    weights span 1e-4 to 1e4: unscaled DAQP needed 150-2,000 iterations on the whole-body QP, scaled 7-17).
    ``floor``: the smallest diagonal entry the scale reads. None if DAQP fails."""
    n = len(gradient)
    scale = 1.0 / np.sqrt(np.maximum(np.diag(hessian), floor))

    def bound(v: np.ndarray) -> np.ndarray:
        return np.where(np.abs(v[:n]) >= FREE, v[:n], v[:n] / scale)

    return _daqp_scaled(hessian, gradient, scale, rows * scale, np.concatenate((bound(upper), upper[n:])),
                        np.concatenate((bound(lower), lower[n:])))


def _daqp_scaled(hessian: np.ndarray, gradient: np.ndarray, scale: np.ndarray, rows: np.ndarray, upper: np.ndarray,
                 lower: np.ndarray) -> np.ndarray | None:
    """DAQP on the problem in y = x / ``scale``; ``rows``, ``upper`` and ``lower`` are already in y. None if it fails."""
    import daqp

    y, _, flag, _ = daqp.solve(hessian * np.outer(scale, scale), gradient * scale, rows, upper, lower,
                               np.zeros(len(upper), dtype=np.int32))
    return np.asarray(y) * scale if flag > 0 else None


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
    """min 1/2 f'Hf + g'f, f >= 0: block principal pivoting (nnqp.py; at the controller's sizes twice as fast as DAQP,
    whose set-up alone cost more), DAQP (scaled) where it does not solve, NNLS on the Cholesky form if DAQP fails."""
    from envs.executor.nnqp import non_negative_qp

    forces, solved = non_negative_qp(hessian, gradient)
    if solved:
        return forces
    m = len(gradient)
    # scaled_daqp with its bounds scaled by hand (0 and FREE are their own scaled values; its general bound handling
    # costs more than the solve at these sizes): the same figures
    scale = 1.0 / np.sqrt(np.maximum(np.diag(hessian), 1e-300))
    forces = _daqp_scaled(hessian, gradient, scale, np.zeros((0, m)), np.full(m, FREE), np.zeros(m))
    if forces is not None:
        return forces
    from scipy.optimize import nnls

    lower = np.linalg.cholesky(hessian + 1e-12 * np.eye(m))  # H = L L': 1/2 |L'f + L^-1 g|^2 + const
    return nnls(lower.T, -np.linalg.solve(lower, gradient))[0]


def _full(hessian: np.ndarray, gradient: np.ndarray, free: int,
          limits: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """The whole problem with its general constraints (the joint torques' limits) for DAQP."""
    n = len(gradient)
    lower = np.zeros(n)
    lower[:free] = -FREE
    x = scaled_daqp(hessian, gradient, limits[0], np.concatenate((np.full(n, FREE), limits[2])),
                    np.concatenate((lower, limits[1])))
    return solve_qp(hessian, gradient, free) if x is None else x  # as BVLS did: the limits dropped, not the torques


def bounded_least_squares(a: np.ndarray, b: np.ndarray, free: int,
                          limits: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """min ||a x - b||^2 with x[free:] >= 0 (and ``limits``): the same QP in least-squares form."""
    return solve_qp(a.T @ a, -(a.T @ b), free, limits)
