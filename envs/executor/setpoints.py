"""The position actuators' set-points that make them apply the whole-body controller's torques (wholebody.py's
``hold``), compiled: called at every physics step (240 Hz), where NumPy's per-operation cost was ~10 us a call.
The arithmetic is NumPy's, operation for operation (no fused multiply-adds), so the set-points are the same numbers;
each is then clipped to its actuator's control range [lo, hi] as ``np.minimum(np.maximum(v, lo), hi)`` (NaN stays NaN)."""
from __future__ import annotations

import numpy as np

from envs.jit import compiled


@compiled
def impedance_setpoints(q: np.ndarray, qd: np.ndarray, tau: np.ndarray, t: float, q0: np.ndarray, qd0: np.ndarray,
                        acc: np.ndarray, inertia: np.ndarray, kp_joint: float, kd_joint: float, kp: np.ndarray,
                        kv: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """q + (tau' + kv qd) / kp with tau' = tau + inertia (kp_joint (q_plan - q) + kd_joint (qd_plan - qd)): the torques
    plus the joint PD towards the solve's planned path (q0, qd0 advanced by ``acc`` for ``t`` seconds)."""
    out = np.empty(len(q))
    half_t2 = 0.5 * t * t
    for i in range(len(q)):
        q_plan = q0[i] + t * qd0[i] + half_t2 * acc[i]
        qd_plan = qd0[i] + t * acc[i]
        torque = tau[i] + inertia[i] * (kp_joint * (q_plan - q[i]) + kd_joint * (qd_plan - qd[i]))
        out[i] = _clip(q[i] + (torque + kv[i] * qd[i]) / kp[i], lo[i], hi[i])
    return out


@compiled
def torque_setpoints(q: np.ndarray, qd: np.ndarray, tau: np.ndarray, kp: np.ndarray, kv: np.ndarray, lo: np.ndarray,
                     hi: np.ndarray) -> np.ndarray:
    """q + (tau + kv qd) / kp: the set-point at which a position actuator (kp (ctrl - q) - kv qd) applies ``tau``."""
    out = np.empty(len(q))
    for i in range(len(q)):
        out[i] = _clip(q[i] + (tau[i] + kv[i] * qd[i]) / kp[i], lo[i], hi[i])
    return out


@compiled
def _clip(v: float, lo: float, hi: float) -> float:
    if v < lo:
        v = lo
    if v > hi:
        v = hi
    return v
