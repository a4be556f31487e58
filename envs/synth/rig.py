"""A joint-angle rig over SMPL-22: families write angle tracks, the rig clamps, poses and grounds them."""
from __future__ import annotations

import numpy as np

from envs.motion.motion import Motion
from envs.quaternion import qfrom_axis_angle, qmul
from envs.skeleton import FOOT_CLEARANCE, JOINT_INDEX, SMPL22, euler_to_local_rotations, joint_limits_deg

J = JOINT_INDEX
_SPINE = (("spine1", 0.3), ("spine2", 0.35), ("spine3", 0.35))
_LIMITS = joint_limits_deg()
# Fastest joint rotation the rig lets through (deg/s); human gestures stay well below it, while
# abrupt (angry) motion keeps its sharp starts and stops.
MAX_ANGULAR_SPEED = 900.0


def side_sign(side: str) -> float:
    """+1 for the left limb, -1 for the right (mirroring negates Y and Z rotations)."""
    return 1.0 if side == "l" else -1.0


class AngleRig:
    """Angle tracks (T, 22, 3) in degrees (per-joint Euler, see ``EULER_ORDER``), a heading and a root path."""

    def __init__(self, num_frames: int, fps: float) -> None:
        self.fps = fps
        self.t = np.arange(num_frames) / fps
        self.angles = np.zeros((num_frames, 22, 3))
        self.heading = np.zeros(num_frames)  # degrees about +Y
        self.path = np.zeros((num_frames, 2))  # root x, z (m)
        self.lift = np.zeros(num_frames)  # height above the grounded pose (flight phases)

    @property
    def n(self) -> int:
        return len(self.t)

    def add(self, joint: str, x=0.0, y=0.0, z=0.0) -> None:
        self.angles[:, J[joint]] += np.stack(np.broadcast_arrays(x, y, z, self.t)[:3], axis=-1)

    def arm(self, side: str, flex=0.0, abd=0.0, elbow=0.0, twist=0.0, front=0.0) -> None:
        """Shoulder: abduction from hanging (0 down, 90 sideways), then horizontal swing to the front
        (``front``), then forward raise (``flex``); elbow flexion and forearm twist."""
        s = side_sign(side)
        self.add(f"{side}_shoulder", x=-np.asarray(flex), y=-s * np.asarray(front), z=s * (np.asarray(abd) - 90.0))
        self.add(f"{side}_elbow", x=s * np.asarray(twist), y=-s * np.asarray(elbow))

    def leg(self, side: str, flex=0.0, abd=0.0, knee=0.0, ankle=0.0) -> None:
        """Hip flexion (leg forward), abduction (outward), knee flexion, ankle plantarflexion."""
        s = side_sign(side)
        self.add(f"{side}_hip", x=-np.asarray(flex), z=s * np.asarray(abd))
        self.add(f"{side}_knee", x=knee)
        self.add(f"{side}_ankle", x=ankle)

    def spine(self, flex=0.0, twist=0.0, lateral=0.0) -> None:
        for name, w in _SPINE:
            self.add(name, x=w * np.asarray(flex), y=w * np.asarray(twist), z=w * np.asarray(lateral))

    def head(self, pitch=0.0, yaw=0.0, roll=0.0) -> None:
        self.add("neck", x=0.5 * np.asarray(pitch), y=0.5 * np.asarray(yaw), z=0.5 * np.asarray(roll))
        self.add("head", x=0.5 * np.asarray(pitch), y=0.5 * np.asarray(yaw), z=0.5 * np.asarray(roll))

    def collar(self, side: str, raise_=0.0, back=0.0) -> None:
        s = side_sign(side)
        self.add(f"{side}_collar", y=s * np.asarray(back), z=s * np.asarray(raise_))

    def advance(self, speed, direction_deg=0.0) -> None:
        """Move the root along the current heading (+ a relative direction) at ``speed`` m/s."""
        yaw = np.deg2rad(self.heading + direction_deg)
        step = np.broadcast_to(np.asarray(speed, dtype=float), self.t.shape) / self.fps
        self.path[:, 0] += np.concatenate([[0.0], np.cumsum((step * np.sin(yaw))[:-1])])
        self.path[:, 1] += np.concatenate([[0.0], np.cumsum((step * np.cos(yaw))[:-1])])

    def build(self, yaw0_deg: float = 0.0) -> tuple[Motion, float]:
        """Clamp to joint limits, pose by FK, put the lowest foot on the floor; returns (motion, clamp share)."""
        clamped = np.clip(self.angles, _LIMITS[None, :, :, 0], _LIMITS[None, :, :, 1])
        clamp_share = float(np.mean(np.abs(clamped - self.angles) > 1e-6))
        clamped = _limit_rate(clamped, MAX_ANGULAR_SPEED / self.fps)
        local = euler_to_local_rotations(clamped)
        heading = qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), np.deg2rad(self.heading + yaw0_deg))
        local[:, 0] = qmul(heading, local[:, 0])
        yaw0 = np.deg2rad(yaw0_deg)
        rot_path = np.stack([self.path[:, 0] * np.cos(yaw0) + self.path[:, 1] * np.sin(yaw0),
                             -self.path[:, 0] * np.sin(yaw0) + self.path[:, 1] * np.cos(yaw0)], -1)
        root = np.zeros((self.n, 3))
        root[:, 0], root[:, 2] = rot_path[:, 0], rot_path[:, 1]
        pos = SMPL22.forward(local, root)
        feet = list(FOOT_CLEARANCE)
        clearance = np.array([FOOT_CLEARANCE[k] for k in feet])
        ground = np.max(clearance[None] - pos[:, feet, 1], axis=1)
        pos[..., 1] += (ground + self.lift)[:, None]
        return Motion(pos, local, self.fps), clamp_share


def _limit_rate(angles: np.ndarray, max_step: float) -> np.ndarray:
    """Follow the angle tracks with at most ``max_step`` degrees of change per frame."""
    out = angles.copy()
    for t in range(1, len(out)):
        out[t] = out[t - 1] + np.clip(angles[t] - out[t - 1], -max_step, max_step)
    return out
