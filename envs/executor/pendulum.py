"""The linear inverted pendulum over piecewise-constant ZMP intervals (Kajita et al. 2003), for the walking MPC.

Compiled (jit.py): the MPC rebuilds this at every reference step with that step's ``omega`` (~100 us as NumPy calls,
~3 us compiled). Loops in plain arithmetic; the figures match NumPy's products to rounding (``tests/test_hull.py``).
"""
from __future__ import annotations

import numpy as np

from envs.jit import compiled


@compiled
def pendulum_response(w: float, t: float, n: int, weight_position: float,
                      weight_velocity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``c'' = w^2 (c - z)`` with the ZMP z constant over each interval of ``t`` seconds: (n, 2, 2) A^1 .. A^n
    over one interval of the state (position, velocity); (n, 2, n) the response of states 1..n to the ZMPs,
    x_j = A^j x0 + sum_i A^(j-1-i) B z_i (row j - 1); and the (n, n) Hessian of the tracking cost
    ``weight_position |c - c_ref|^2 + weight_velocity |v - v_ref|^2`` over the horizon in the ZMPs."""
    ch, sh = np.cosh(w * t), np.sinh(w * t)
    a00, a01, a10, a11 = ch, sh / w, w * sh, ch
    b0, b1 = 1.0 - ch, -w * sh
    powers = np.empty((n + 1, 2, 2))
    powers[0, 0, 0], powers[0, 0, 1], powers[0, 1, 0], powers[0, 1, 1] = 1.0, 0.0, 0.0, 1.0
    for j in range(n):
        p = powers[j]
        powers[j + 1, 0, 0] = a00 * p[0, 0] + a01 * p[1, 0]
        powers[j + 1, 0, 1] = a00 * p[0, 1] + a01 * p[1, 1]
        powers[j + 1, 1, 0] = a10 * p[0, 0] + a11 * p[1, 0]
        powers[j + 1, 1, 1] = a10 * p[0, 1] + a11 * p[1, 1]
    responses = np.empty((n, 2))  # A^l B
    for lag in range(n):
        responses[lag, 0] = powers[lag, 0, 0] * b0 + powers[lag, 0, 1] * b1
        responses[lag, 1] = powers[lag, 1, 0] * b0 + powers[lag, 1, 1] * b1
    gain = np.zeros((n, 2, n))
    for j in range(n):
        for i in range(j + 1):
            gain[j, 0, i] = responses[j - i, 0]
            gain[j, 1, i] = responses[j - i, 1]
    tracking = np.empty((n, n))
    for i in range(n):
        for k in range(i, n):
            sp, sv = 0.0, 0.0
            for j in range(max(i, k), n):  # gain[j, :, i] is zero before j = i
                sp += gain[j, 0, i] * gain[j, 0, k]
                sv += gain[j, 1, i] * gain[j, 1, k]
            tracking[i, k] = tracking[k, i] = weight_position * sp + weight_velocity * sv
    return powers[1:], gain, tracking
