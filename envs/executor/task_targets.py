"""The whole-body QP's per-solve PD targets (wholebody.py's ``control``), compiled: a few dozen numbers each, where
NumPy's per-call cost (~1 us an operation, a dozen operations a solve) was most of the time. The arithmetic is NumPy's,
operation for operation and in the same order (no fused multiply-adds), so the targets are the same numbers."""
from __future__ import annotations

import numpy as np

from envs.jit import compiled


@compiled
def hinge_accelerations(qacc_ref: np.ndarray, ref_q: np.ndarray, q: np.ndarray, ref_qd: np.ndarray, qd: np.ndarray,
                        kp: float, kd: float) -> np.ndarray:
    """(nv,) ``qacc_ref`` with every hinge's PD added: kp (ref_q - q) + kd (ref_qd - qd). ``ref_q``, ``q``: (nv + 1,)
    generalized positions (the free joint's 7, then the hinges); ``ref_qd``, ``qd``, ``qacc_ref``: (nv,)."""
    out = qacc_ref.copy()
    for i in range(6, len(out)):
        out[i] += kp * (ref_q[i + 1] - q[i + 1]) + kd * (ref_qd[i] - qd[i])
    return out


@compiled
def add_root_pd(a: np.ndarray, ref_q: np.ndarray, q: np.ndarray, anchor: np.ndarray, ref_qd: np.ndarray,
                qd: np.ndarray, rotvec: np.ndarray, kp_position: float, kd_position: float, kp_orientation: float,
                kd_orientation: float) -> None:
    """In place on ``a``'s first six entries: the root's PD, its position towards ``ref_q[:3] + anchor`` and its
    orientation by ``rotvec`` (the rotation vector from the body's orientation to the reference's)."""
    for i in range(3):
        a[i] += kp_position * (ref_q[i] + anchor[i] - q[i]) + kd_position * (ref_qd[i] - qd[i])
    for i in range(3):
        a[3 + i] += kp_orientation * rotvec[i] + kd_orientation * (ref_qd[3 + i] - qd[3 + i])


@compiled
def follow_feet(anchor: np.ndarray, xpos: np.ndarray, heels: np.ndarray, ref_heels: np.ndarray, left: bool,
                right: bool, rate: float, first: bool) -> np.ndarray:
    """The anchor (2,) moved by ``rate`` towards where the standing heel boxes stand against the reference's
    (``heels``: the two geoms; ``ref_heels``: (2, 2) the reference's; the mean of the two where ``left`` and ``right``
    both stand); at the ``first`` control step set there."""
    out = np.empty(2)
    for r in range(2):
        a = xpos[heels[0], r] - ref_heels[0, r]
        b = xpos[heels[1], r] - ref_heels[1, r]
        shift = (a + b) / 2.0 if left and right else (a if left else b)
        out[r] = shift if first else anchor[r] + rate * (shift - anchor[r])
    return out


@compiled
def stance_foot_target(velocity: np.ndarray, kd: float, kp_height: float, sole_height: float, height: float,
                       kp_flat: float, xmat: np.ndarray) -> np.ndarray:
    """(6,) a standing sole's acceleration target: held still (-kd times its ``velocity``, translation then rotation),
    its heel box's centre pulled from ``height`` to ``sole_height``, and the sole turned level by ``kp_flat`` times
    cross.tilt_axis of its rotation ``xmat`` (row-major, 9 numbers)."""
    out = np.empty(6)
    for i in range(6):
        out[i] = velocity[i] * -kd
    out[2] += kp_height * (sole_height - height)
    out[3] += kp_flat * xmat[5]
    out[4] += kp_flat * -xmat[2]
    out[5] += kp_flat * 0.0
    return out
