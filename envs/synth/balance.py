"""The centre of pressure kept on the feet: a standing family leans (forward about its ankles, the ankle strategy of
Winter 1995; sideways by shifting its weight at the hips) just enough that the floor can carry what it wrote.

A family writes joint angles for an expression (a bow's trunk, a squat's knees) without knowing where the body's
mass goes. synth-8's bow flexes the legs forward with the trunk, which took its centre of mass 9 cm back, to 2.5 cm
from the heels, and its brisk bows asked the floor for a centre of pressure (the zero-moment point, ZMP) up to 0.6 m
outside the feet: no body tracks that unassisted. Here the ZMP of the posed clip is computed with the cart-table
model (Kajita et al. 2003) over a centre of mass from de Leva's (1996) segment masses, and per axis of the body the
smallest smooth shift of the centre of mass that puts it over the feet is planned, as the executor's ``com_plan``
plans one for mocap (a dynamics filter, Yamane and Nakamura 2003). The rig (``AngleRig._balance``) turns the shift
into a lean and reads the ZMP again.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from envs.skeleton import FOOT_CLEARANCE, JOINT_INDEX
from envs.synth.footwork import sole_height

J = JOINT_INDEX
GRAVITY = 9.81
# Segment masses as shares of the body (de Leva 1996), each at the middle of the segment from one joint to the next;
# the trunk's 43.5 % spread over the pelvis and spine segments, the hand's at the wrist
_SEGMENTS = [("pelvis", "spine1", 0.11), ("spine1", "spine2", 0.10), ("spine2", "spine3", 0.10),
             ("spine3", "neck", 0.1246), ("neck", "head", 0.0694)]
for _s in "lr":
    _SEGMENTS += [(f"{_s}_hip", f"{_s}_knee", 0.1416), (f"{_s}_knee", f"{_s}_ankle", 0.0433),
                  (f"{_s}_ankle", f"{_s}_foot", 0.0137), (f"{_s}_shoulder", f"{_s}_elbow", 0.0271),
                  (f"{_s}_elbow", f"{_s}_wrist", 0.0162), (f"{_s}_wrist", f"{_s}_wrist", 0.0061)]
HEEL_BACK_M = 0.06  # the heel behind the ankle joint, along the foot
TOE_FRONT_M = 0.05  # the toe tip ahead of the SMPL toe joint (the ball of the foot)
SOLE_HALF_WIDTH_M = 0.045


def centre_of_mass(positions: np.ndarray) -> np.ndarray:
    """(T, 3) centre of mass of joint positions (T, 22, 3)."""
    out = np.zeros(positions.shape[:-2] + (3,))
    for a, b, share in _SEGMENTS:
        out += share * 0.5 * (positions[..., J[a], :] + positions[..., J[b], :])
    return out


def support_span(positions: np.ndarray, axis: np.ndarray, contact_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(T,), (T,): the least and the greatest of the sole corners along ``axis`` ((3,) or per frame (T, 3); unit,
    horizontal) of the feet within ``contact_m`` of the floor (NaN where none is). A sole runs from ``HEEL_BACK_M``
    behind the ankle joint to ``TOE_FRONT_M`` ahead of the toe joint, ``SOLE_HALF_WIDTH_M`` either side: the
    humanoid's soles within 1 cm (the rest pose, against the executor's foot boxes)."""
    lo, hi = np.full(len(positions), np.inf), np.full(len(positions), -np.inf)
    for side in "lr":
        ankle, toe = positions[:, J[f"{side}_ankle"]], positions[:, J[f"{side}_foot"]]
        along = toe - ankle
        along[:, 1] = 0.0
        along /= np.maximum(np.linalg.norm(along, axis=1, keepdims=True), 1e-9)
        across = np.stack([along[:, 2], np.zeros(len(along)), -along[:, 0]], axis=1)
        ends = (ankle - HEEL_BACK_M * along, toe + TOE_FRONT_M * along)
        corners = np.einsum("tcj,tj->tc", np.stack([end + sign * SOLE_HALF_WIDTH_M * across for end in ends
                                                    for sign in (-1, 1)], axis=1), np.broadcast_to(axis, ankle.shape))
        down = sole_height(positions, side) < contact_m
        lo = np.where(down, np.minimum(lo, corners.min(axis=1)), lo)
        hi = np.where(down, np.maximum(hi, corners.max(axis=1)), hi)
    supported = np.isfinite(lo)
    return np.where(supported, lo, np.nan), np.where(supported, hi, np.nan)


def plan_shift(zmp: np.ndarray, lo: np.ndarray, hi: np.ndarray, height: np.ndarray, dt: float,
               smooth_s: float = 0.3, rounds: int = 10, penalty: float = 1e6) -> np.ndarray:
    """(T,) the smallest smooth shift ``s`` of the centre of mass along one axis that puts the ZMP ``zmp + s - h s''``
    (``height``: the cart-table factor h) within [lo, hi] wherever those are finite. Least squares on the shift and its
    rate over ``smooth_s``, violated bounds as stiff penalties (an active set grown over ``rounds``)."""
    n = len(zmp)
    if n < 3:
        return np.zeros(n)
    eye = sp.identity(n, format="csr")
    d1 = sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n)) / dt
    d2 = sp.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n)) / dt**2
    d2_full = sp.vstack([sp.csr_matrix((1, n)), d2, sp.csr_matrix((1, n))]).tocsr()
    zmp_map = (eye - sp.diags(height) @ d2_full).tocsr()
    base = (eye + smooth_s**2 * (d1.T @ d1) + 0.01 * smooth_s**4 * (d2.T @ d2)).tocsc()
    finite = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(zmp)
    shift = np.zeros(n)
    active_lo, active_hi = np.zeros(n, bool), np.zeros(n, bool)
    for _ in range(rounds):
        p = zmp + zmp_map @ shift
        grown_lo, grown_hi = active_lo | (finite & (p < lo - 1e-4)), active_hi | (finite & (p > hi + 1e-4))
        if shift.any() and (grown_lo == active_lo).all() and (grown_hi == active_hi).all():
            break  # the set has settled
        active_lo, active_hi = grown_lo, grown_hi
        rows = np.flatnonzero(active_lo | active_hi)
        if not len(rows):
            break
        bound = np.where(active_lo, lo, hi)[rows] - zmp[rows]
        c = zmp_map[rows]
        shift = spsolve((base + penalty * (c.T @ c)).tocsc(), penalty * (c.T @ bound))
    return shift


def balance_shift(positions: np.ndarray, fps: float, axes: np.ndarray, margin_m: float, contact_m: float = 0.02,
                  smooth_s: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """The centre of mass's shift (T, A) along each of ``axes`` (T, A, 3; unit, horizontal) that keeps the ZMP of the
    clip's grounded, planted joint positions (T, 22, 3) ``margin_m`` inside its feet, and the centre of mass's height
    above the floor (T,)."""
    dt = 1.0 / fps
    com = centre_of_mass(positions)
    floor = np.minimum(*(positions[:, J[f"{s}_ankle"], 1] - FOOT_CLEARANCE[J[f"{s}_ankle"]] for s in "lr"))
    com_height = com[:, 1] - np.maximum(floor, 0.0)
    acc = np.gradient(np.gradient(com, dt, axis=0), dt, axis=0)
    height = com_height / np.maximum(GRAVITY + acc[:, 1], 0.5 * GRAVITY)  # the cart-table factor
    zmp = com - height[:, None] * acc
    shifts = []
    for a in range(axes.shape[1]):
        axis = axes[:, a]
        lo, hi = support_span(positions, axis, contact_m)
        shifts.append(plan_shift(np.einsum("tj,tj->t", zmp, axis), lo + margin_m, hi - margin_m, height, dt, smooth_s))
    return np.stack(shifts, axis=1), com_height
