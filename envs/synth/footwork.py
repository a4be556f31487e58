"""Feet first: a gait's legs solved for where its feet should be, so that both feet of a double support stand on one
floor and the body's height moves smoothly over them.

The angle gait (envs/synth/gait.py) writes hip swings and knee bends; legs posed that way do not agree with each
other about where the floor is. At every touch-down synth-8's landing leg was longer than the trailing one: the lowest
foot switched within a frame, the landing foot moved 0.3 m in it and the body's acceleration reached 31 m/s^2 (walks,
95th percentile; runs 64). Here the gait names each ankle's place relative to the body instead (planted feet sweep
back at the body's speed, swing feet travel forward and up), the floor's height under the body is the highest one
that every planted foot can reach with the leg's allowed length, smoothed, and a small inverse kinematics per frame
turns hip and knee until the ankles are there."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d, maximum_filter1d

from envs.skeleton import FOOT_CLEARANCE, JOINT_INDEX, SMPL22, euler_to_local_rotations, joint_limits_deg

J = JOINT_INDEX


def pose_at_origin(angles: np.ndarray) -> np.ndarray:
    """Joint positions (T, 22, 3) of Euler angle tracks (T, 22, 3), degrees, with the root at the origin."""
    return SMPL22.forward(euler_to_local_rotations(angles), np.zeros((len(angles), 3)))


LEG_LENGTH = 0.80  # hip to ankle of the SMPL template (m), a round figure: a gait's stride, the hips' weight shift


def sole_height(positions: np.ndarray, side: str) -> np.ndarray:
    """Height of a foot's lowest sole point above the floor line of a flat foot (..., from ankle and toe)."""
    ankle, toe = J[f"{side}_ankle"], J[f"{side}_foot"]
    return np.minimum(positions[..., ankle, 1] - FOOT_CLEARANCE[ankle], positions[..., toe, 1] - FOOT_CLEARANCE[toe])


_LIMITS = joint_limits_deg()
_REST = pose_at_origin(np.zeros((1, 22, 3)))[0]
_LEG = {side: float(np.linalg.norm(_REST[J[f"{side}_ankle"]] - _REST[J[f"{side}_hip"]]))  # hip to ankle, straight
        for side in "lr"}
_SOLVED = (("hip", 0), ("hip", 2), ("knee", 0))  # flexion, abduction, knee: three angles, the ankle's three coordinates
_MIN_KNEE_DEG = 1.0  # a straight knee is the solve's singular point, and bent backwards is the wrong branch
_FULL_REACH = 0.995  # of the straight leg: where a target lies farther from the hip, the ankle goes as far as it can


@dataclass
class FootPlan:
    """Where one ankle should be, per frame, in the body's heading frame (x left, y up, z forward).

    ``forward`` and ``lateral`` (m) move the ankle from its rest place under the hip; ``lift`` in [0, 1] is the share
    of the swing's clearance (0 on the floor); ``on_floor`` marks the frames the foot carries the body; ``reach`` is
    the share of the straight leg's length that a planted leg may use (below 1: the knee stays bent)."""
    forward: np.ndarray
    lateral: np.ndarray
    lift: np.ndarray
    on_floor: np.ndarray
    clearance_m: float | np.ndarray
    reach: float


def floor_level(positions: np.ndarray, plans: dict[str, FootPlan], smooth_frames: float) -> np.ndarray:
    """Ankle height (T,) of a planted foot relative to the root: the highest that every planted leg reaches.

    Where two feet are down the higher floor wins, so its minimum has a corner at each touch-down; a running maximum
    over the smoothing width followed by the Gaussian rounds it without asking any leg for more than it has."""
    level = np.full(len(positions), -np.inf)
    for side, plan in plans.items():
        hip = positions[:, J[f"{side}_hip"]]
        ankle_x = _REST[J[f"{side}_ankle"], 0] + plan.lateral
        ankle_z = _REST[J[f"{side}_ankle"], 2] + plan.forward
        horizontal = np.hypot(ankle_x - hip[:, 0], ankle_z - hip[:, 2])
        drop = np.sqrt(np.clip((plan.reach * _LEG[side]) ** 2 - horizontal ** 2, 1e-4, None))
        level = np.where(plan.on_floor, np.maximum(level, hip[:, 1] - drop), level)
    carried = np.isfinite(level)
    if not carried.any():
        raise ValueError("a foot plan with no planted frame has no floor to stand on")
    frames = np.arange(len(level))
    level = np.interp(frames, frames[carried], level[carried])  # airborne frames: the floor between landings
    if smooth_frames > 0:
        width = 2 * int(np.ceil(smooth_frames)) + 1
        level = np.maximum(gaussian_filter1d(maximum_filter1d(level, width, mode="nearest"), smooth_frames / 2,
                                             mode="nearest"), level)
    return level


def place_feet(angles: np.ndarray, plans: dict[str, FootPlan], min_clearance_m: float, smooth_frames: float,
               iterations: int = 6, step_deg: float = 0.5) -> float:
    """Turn each planned leg's hip (flexion, abduction) and knee (in place, degrees) until its ankle is where the plan
    puts it; returns the largest ankle error left (m).

    Gauss-Newton per frame with a finite-difference Jacobian: the three angles move the ankle in three directions,
    and one forward kinematics per angle serves both legs at once. The angles already there (the angle gait) start
    the solve, which keeps the knee on its forward-bending branch; joint limits hold after every step."""
    positions = pose_at_origin(angles)
    floor = floor_level(positions, plans, smooth_frames)
    targets = {}
    for side, plan in plans.items():
        ankle, hip = J[f"{side}_ankle"], positions[:, J[f"{side}_hip"]]  # the hips do not move with the legs' angles
        wanted = np.stack([_REST[ankle, 0] + plan.lateral, floor + (min_clearance_m + plan.clearance_m) * plan.lift,
                           _REST[ankle, 2] + plan.forward], axis=-1) - hip
        # a swing foot just lifted off behind the body may be out of reach: it then goes as far as it can that way
        distance = np.linalg.norm(wanted, axis=-1, keepdims=True)
        targets[side] = hip + wanted * np.minimum(1.0, _FULL_REACH * _LEG[side] / distance)
    error = {side: positions[:, J[f"{side}_ankle"]] - targets[side] for side in plans}
    for _ in range(iterations):
        jacobian = {side: np.empty((len(angles), 3, 3)) for side in plans}
        for k, (joint, axis) in enumerate(_SOLVED):
            moved = angles.copy()
            for side in plans:
                moved[:, J[f"{side}_{joint}"], axis] += step_deg
            shifted = pose_at_origin(moved)
            for side in plans:
                jacobian[side][:, :, k] = (shifted[:, J[f"{side}_ankle"]] - positions[:, J[f"{side}_ankle"]]) / step_deg
        for side in plans:
            jt = np.swapaxes(jacobian[side], 1, 2)
            delta = np.linalg.solve(jt @ jacobian[side] + 1e-7 * np.eye(3), -(jt @ error[side][..., None]))[..., 0]
            for k, (joint, axis) in enumerate(_SOLVED):
                j = J[f"{side}_{joint}"]
                low = max(_LIMITS[j, axis, 0], _MIN_KNEE_DEG) if joint == "knee" else _LIMITS[j, axis, 0]
                angles[:, j, axis] = np.clip(angles[:, j, axis] + delta[:, k], low, _LIMITS[j, axis, 1])
        positions = pose_at_origin(angles)
        error = {side: positions[:, J[f"{side}_ankle"]] - targets[side] for side in plans}
    return float(max(np.abs(e).max() for e in error.values()))
