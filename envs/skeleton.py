"""The SMPL 22-joint body in HumanML3D order: tree, adult rest offsets, forward and inverse kinematics.

Coordinates are Y-up, metres, the body facing +Z with its left side towards +X (SMPL and HumanML3D).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envs.jit import HAVE_NUMBA, compiled
from envs.quaternion import (cross, euler_to_matrix, kabsch_rotation, matrix_to_euler, matrix_to_quat, qbetween,
                             qfrom_axis_angle, qinv, qmul, qrot, quat_to_matrix)

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "l_hip", "r_hip", "spine1", "l_knee", "r_knee", "spine2", "l_ankle", "r_ankle",
    "spine3", "l_foot", "r_foot", "neck", "l_collar", "r_collar", "head", "l_shoulder",
    "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
# HumanML3D's kinematic chains (used for drawing and for the facing direction).
KINEMATIC_CHAINS: tuple[tuple[int, ...], ...] = (
    (0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21), (9, 13, 16, 18, 20),
)
FACE_JOINTS = (2, 1, 17, 16)  # r_hip, l_hip, r_shoulder, l_shoulder
FOOT_JOINTS_LEFT = (7, 10)
FOOT_JOINTS_RIGHT = (8, 11)
# Height of the ankle and foot (ball) joints above the floor when the sole rests flat (metres).
FOOT_CLEARANCE = {7: 0.085, 8: 0.085, 10: 0.03, 11: 0.03}


def ground_offset(positions: np.ndarray) -> float:
    """Vertical shift that rests the lowest foot of a clip (T, 22, 3, Y up) on the floor."""
    joints = list(FOOT_CLEARANCE)
    clearance = np.array([FOOT_CLEARANCE[j] for j in joints])
    return float(-np.min(positions[:, joints, 1] - clearance))

# Rest joint positions of the SMPL neutral-height adult template (T-pose, metres), made left/right
# symmetric; offsets are child minus parent. Total height about 1.70 m.
_REST_POSITIONS = np.array([
    [0.000, 0.000, 0.000],     # pelvis
    [0.069, -0.091, -0.006],   # l_hip
    [-0.069, -0.091, -0.006],  # r_hip
    [0.000, 0.109, -0.027],    # spine1
    [0.104, -0.467, -0.012],   # l_knee
    [-0.104, -0.467, -0.012],  # r_knee
    [0.000, 0.241, -0.025],    # spine2
    [0.086, -0.865, -0.053],   # l_ankle
    [-0.086, -0.865, -0.053],  # r_ankle
    [0.000, 0.291, 0.001],     # spine3
    [0.120, -0.921, 0.070],    # l_foot
    [-0.120, -0.921, 0.070],   # r_foot
    [0.000, 0.500, -0.033],    # neck
    [0.080, 0.412, -0.031],    # l_collar
    [-0.080, 0.412, -0.031],   # r_collar
    [0.000, 0.589, 0.020],     # head
    [0.174, 0.451, -0.040],    # l_shoulder
    [-0.174, 0.451, -0.040],   # r_shoulder
    [0.432, 0.437, -0.059],    # l_elbow
    [-0.432, 0.437, -0.059],   # r_elbow
    [0.684, 0.444, -0.062],    # l_wrist
    [-0.684, 0.444, -0.062],   # r_wrist
])


# Limbs whose middle joint is a hinge: for joint -> (child, grandchild, the child's hinge axis in the
# T-pose frame, signed so a positive bend of the limb turns about it). The IK twists the upper limb so
# that elbow and knee bends come out about this axis, as an anatomical joint would.
HINGE_LIMBS: dict[int, tuple[int, int, tuple[float, float, float]]] = {
    16: (18, 20, (0.0, -1.0, 0.0)),  # l_shoulder -> l_elbow -> l_wrist
    17: (19, 21, (0.0, 1.0, 0.0)),   # r_shoulder -> r_elbow -> r_wrist
    1: (4, 7, (1.0, 0.0, 0.0)),      # l_hip -> l_knee -> l_ankle
    2: (5, 8, (1.0, 0.0, 0.0)),      # r_hip -> r_knee -> r_ankle
}


@compiled
def _forward_kinematics(local: np.ndarray, root: np.ndarray, parents: np.ndarray,
                        offsets: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled; run through forward
    """Skeleton.forward_numpy per frame: global rotations by qmul down the tree, each bone's offset turned by its
    parent's (qrot: v + 2 (w u x v + u x (u x v))), the products and sums written in the same order."""
    frames, joints = local.shape[0], local.shape[1]
    glob = np.empty((joints, 4))
    pos = np.empty((frames, joints, 3))
    for t in range(frames):
        for c in range(4):
            glob[0, c] = local[t, 0, c]
        for c in range(3):
            pos[t, 0, c] = root[t, c]
        for j in range(1, joints):
            p = parents[j]
            aw, ax, ay, az = glob[p, 0], glob[p, 1], glob[p, 2], glob[p, 3]
            bw, bx, by, bz = local[t, j, 0], local[t, j, 1], local[t, j, 2], local[t, j, 3]
            glob[j, 0] = aw * bw - ax * bx - ay * by - az * bz
            glob[j, 1] = aw * bx + ax * bw + ay * bz - az * by
            glob[j, 2] = aw * by - ax * bz + ay * bw + az * bx
            glob[j, 3] = aw * bz + ax * by - ay * bx + az * bw
            vx, vy, vz = offsets[j, 0], offsets[j, 1], offsets[j, 2]
            uvx, uvy, uvz = ay * vz - az * vy, az * vx - ax * vz, ax * vy - ay * vx
            uuvx, uuvy, uuvz = ay * uvz - az * uvy, az * uvx - ax * uvz, ax * uvy - ay * uvx
            pos[t, j, 0] = pos[t, p, 0] + (vx + 2.0 * (aw * uvx + uuvx))
            pos[t, j, 1] = pos[t, p, 1] + (vy + 2.0 * (aw * uvy + uuvy))
            pos[t, j, 2] = pos[t, p, 2] + (vz + 2.0 * (aw * uvz + uuvz))
    return pos


def _children(parents: tuple[int, ...]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parents]
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    return kids


@dataclass
class Skeleton:
    """A joint tree with rest offsets; FK from local rotations and position-based IK back to them."""

    parents: tuple[int, ...] = PARENTS
    offsets: np.ndarray = field(default_factory=lambda: _REST_POSITIONS - _REST_POSITIONS[[0] + list(PARENTS[1:])])
    names: tuple[str, ...] = JOINT_NAMES
    hinge_limbs: dict = field(default_factory=lambda: dict(HINGE_LIMBS))

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, dtype=np.float64)
        self.offsets[0] = 0.0
        self.children = _children(self.parents)

    @property
    def num_joints(self) -> int:
        return len(self.parents)

    @property
    def bone_lengths(self) -> np.ndarray:
        return np.linalg.norm(self.offsets, axis=-1)

    def rest_positions(self) -> np.ndarray:
        pos = np.zeros((self.num_joints, 3))
        for j in range(1, self.num_joints):
            pos[j] = pos[self.parents[j]] + self.offsets[j]
        return pos

    def global_rotations(self, local_rot: np.ndarray) -> np.ndarray:
        glob = np.empty_like(local_rot)
        glob[..., 0, :] = local_rot[..., 0, :]
        for j in range(1, self.num_joints):
            glob[..., j, :] = qmul(glob[..., self.parents[j], :], local_rot[..., j, :])
        return glob

    def forward(self, local_rot: np.ndarray, root_pos: np.ndarray) -> np.ndarray:
        """Global joint positions (..., J, 3) from local rotations (..., J, 4) and root positions (..., 3). Float64
        rotations go through a compiled loop (envs/jit.py) doing :meth:`forward_numpy`'s operations in its order: the
        same positions bit for bit, ~50x faster on a clip (tests/test_compiled_kinematics.py)."""
        local_rot = np.asarray(local_rot)
        if not HAVE_NUMBA or local_rot.dtype != np.float64 or local_rot.shape[-2] != self.num_joints:
            return self.forward_numpy(local_rot, root_pos)
        lead = local_rot.shape[:-2]
        rot = np.ascontiguousarray(local_rot.reshape((-1,) + local_rot.shape[-2:]))
        # a writable copy: a read-only view (broadcast_to's) would be a second compiled signature
        root = np.array(np.broadcast_to(np.asarray(root_pos, dtype=np.float64), lead + (3,)).reshape(-1, 3), order="C")
        parents, offsets = np.asarray(self.parents, dtype=np.int64), np.ascontiguousarray(self.offsets, dtype=np.float64)
        return _forward_kinematics(rot, root, parents, offsets).reshape(lead + (self.num_joints, 3))

    def forward_numpy(self, local_rot: np.ndarray, root_pos: np.ndarray) -> np.ndarray:
        """:meth:`forward` in NumPy, a joint at a time over every frame (without Numba; the compiled loop's reference)."""
        glob = self.global_rotations(local_rot)
        pos = np.empty(local_rot.shape[:-1] + (3,))
        pos[..., 0, :] = root_pos
        for j in range(1, self.num_joints):
            p = self.parents[j]
            pos[..., j, :] = pos[..., p, :] + qrot(glob[..., p, :], np.broadcast_to(self.offsets[j], pos[..., j, :].shape))
        return pos

    def inverse(self, positions: np.ndarray, refine_twist: bool = True) -> np.ndarray:
        """Local rotations (T, J, 4) whose FK best reproduces global ``positions`` (T, J, 3).

        Branching joints (pelvis, spine3) solve Wahba's problem over all their children; single-child
        joints take the shortest swing from their parent's frame, which keeps twist continuous. Each
        bone aims at its target from the *reached* parent position, so errors do not accumulate down
        a chain. Positions should already have this skeleton's bone lengths.
        """
        positions = np.asarray(positions, dtype=np.float64)
        n = positions.shape[0]
        glob = np.zeros((n, self.num_joints, 4))
        glob[..., 0] = 1.0
        reached = np.empty_like(positions)
        reached[:, 0] = positions[:, 0]
        for j in range(self.num_joints):
            kids = self.children[j]
            if j > 0:
                p = self.parents[j]
                reached[:, j] = reached[:, p] + qrot(glob[:, p], np.broadcast_to(self.offsets[j], (n, 3)))
            if not kids:
                glob[:, j] = glob[:, self.parents[j]] if j > 0 else glob[:, j]
                continue
            targets = positions[:, kids] - reached[:, j : j + 1]
            if len(kids) > 1:
                rot = kabsch_rotation(self.offsets[kids], targets)
                glob[:, j] = matrix_to_quat(rot)
            else:
                parent_rot = glob[:, self.parents[j]] if j > 0 else glob[:, 0]
                rest_dir = qrot(parent_rot, np.broadcast_to(self.offsets[kids[0]], (n, 3)))
                glob[:, j] = qmul(qbetween(rest_dir, targets[:, 0]), parent_rot)
                if self.hinge_limbs and j in self.hinge_limbs:
                    glob[:, j] = self._hinge_twist(glob[:, j], j, positions, targets[:, 0])
        local = np.empty_like(glob)
        local[:, 0] = glob[:, 0]
        for j in range(1, self.num_joints):
            local[:, j] = qmul(qinv(glob[:, self.parents[j]]), glob[:, j])
        # Keep the hemisphere continuous over time (q and -q are the same rotation).
        flip = np.sum(local[1:] * local[:-1], axis=-1) < 0
        sign = np.ones(local.shape[:-1])
        sign[1:] = np.where(np.cumsum(flip, axis=0) % 2 == 1, -1.0, 1.0)
        return local * sign[..., None]

    def _hinge_twist(self, rot: np.ndarray, j: int, positions: np.ndarray, bone: np.ndarray) -> np.ndarray:
        """Twist ``rot`` about the bone so the child's hinge axis lies along the limb's bend axis.

        The twist fades out as the limb straightens (the bend axis is then undefined), which keeps
        the solution continuous.
        """
        child, grand, axis = self.hinge_limbs[j]
        upper = positions[:, child] - positions[:, j]
        lower = positions[:, grand] - positions[:, child]
        bend = cross(upper, lower)
        sin_bend = np.linalg.norm(bend, axis=-1) / np.maximum(
            np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1), 1e-9)
        u = bone / np.maximum(np.linalg.norm(bone, axis=-1, keepdims=True), 1e-9)
        current = qrot(rot, np.broadcast_to(np.asarray(axis, dtype=float), u.shape))
        # Angle from the current axis to the bend axis, both projected on the plane normal to the bone.
        a = current - np.sum(current * u, -1, keepdims=True) * u
        b = bend - np.sum(bend * u, -1, keepdims=True) * u
        angle = np.arctan2(np.sum(cross(a, b) * u, -1), np.sum(a * b, -1))
        weight = np.clip(sin_bend / 0.25, 0.0, 1.0)  # full twist from ~15 degrees of bend
        twist = qfrom_axis_angle(u, weight * angle)
        return qmul(twist, rot)

    def normalise_bone_lengths(self, positions: np.ndarray, root_scale: float | None = None) -> np.ndarray:
        """Rebuild ``positions`` (T, J, 3) with this skeleton's bone lengths, keeping every bone's direction.

        The root trajectory is scaled by ``root_scale`` (default: ratio of leg lengths) so that the
        stride still matches the new legs.
        """
        positions = np.asarray(positions, dtype=np.float64)
        if root_scale is None:
            root_scale = self.leg_length() / max(leg_length_of(positions[0], self.parents), 1e-6)
        out = np.empty_like(positions)
        root = positions[:, 0]
        out[:, 0] = root[0] + (root - root[0]) * root_scale
        out[:, 0, 1] = root[:, 1] * root_scale
        for j in range(1, self.num_joints):
            p = self.parents[j]
            d = positions[:, j] - positions[:, p]
            d /= np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-9)
            out[:, j] = out[:, p] + d * self.bone_lengths[j]
        return out

    def leg_length(self) -> float:
        return leg_length_of(self.rest_positions(), self.parents)


def leg_length_of(pose: np.ndarray, parents: tuple[int, ...] = PARENTS) -> float:
    """Sum of the left hip-knee-ankle bone lengths of one pose (J, 3) of the SMPL-22 tree."""
    chain = (JOINT_INDEX["l_hip"], JOINT_INDEX["l_knee"], JOINT_INDEX["l_ankle"])
    return float(sum(np.linalg.norm(pose[c] - pose[parents[c]]) for c in chain[1:]))


SMPL22 = Skeleton()


# Human joint ranges (degrees) of the Euler angles about each joint's T-pose X, Y, Z axes (composed
# in the order of EULER_ORDER), for the left side and the midline; the right
# side mirrors them (Y and Z negate). Sources: AAOS normal ranges of motion, rounded.
_LEFT_LIMITS: dict[str, tuple[tuple[float, float], ...]] = {
    "l_hip": ((-125, 30), (-45, 45), (-30, 50)),
    "l_knee": ((0, 150), (-10, 10), (-5, 5)),
    "l_ankle": ((-30, 50), (-25, 25), (-25, 25)),
    "l_foot": ((-30, 40), (-5, 5), (-5, 5)),
    "spine1": ((-25, 45), (-30, 30), (-25, 25)),
    "spine2": ((-25, 45), (-30, 30), (-25, 25)),
    "spine3": ((-25, 45), (-30, 30), (-25, 25)),
    "neck": ((-40, 50), (-60, 60), (-35, 35)),
    "head": ((-30, 35), (-30, 30), (-20, 20)),
    "l_collar": ((-20, 20), (-25, 25), (-15, 35)),
    "l_shoulder": ((-180, 60), (-95, 95), (-95, 95)),
    "l_elbow": ((-90, 90), (-150, 0), (-10, 10)),
    "l_wrist": ((-80, 80), (-70, 70), (-30, 30)),
}


# Order in which each joint's three Euler angles (about its T-pose X, Y, Z axes) compose, intrinsic.
# The elbows bend about Y by up to 150 degrees; putting Y first keeps that bend away from the
# gimbal lock of a middle axis at 90 degrees. The MuJoCo hinges follow the same order.
EULER_ORDER: dict[str, str] = {"l_elbow": "YXZ", "r_elbow": "YXZ"}


def euler_order(joint: int) -> str:
    return EULER_ORDER.get(JOINT_NAMES[joint], "XYZ")


def _order_groups(num_joints: int) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {}
    for j in range(num_joints):
        groups.setdefault(euler_order(j), []).append(j)
    return groups


def euler_to_local_rotations(angles_deg: np.ndarray) -> np.ndarray:
    """Local rotations (..., J, 4) from per-joint Euler angles (..., J, 3) in degrees, angle k about axis k."""
    out = np.empty(angles_deg.shape[:-1] + (4,))
    for order, joints in _order_groups(angles_deg.shape[-2]).items():
        ordered = angles_deg[..., joints, :][..., ["XYZ".index(a) for a in order]]
        out[..., joints, :] = matrix_to_quat(euler_to_matrix(ordered, order))
    return out


def local_rotations_to_euler(rotations: np.ndarray) -> np.ndarray:
    """Per-joint Euler angles (..., J, 3), degrees, angle k about axis k (inverse of the above)."""
    out = np.empty(rotations.shape[:-1] + (3,))
    for order, joints in _order_groups(rotations.shape[-2]).items():
        ordered = matrix_to_euler(quat_to_matrix(rotations[..., joints, :]), order)
        back = np.empty_like(ordered)
        back[..., ["XYZ".index(a) for a in order]] = ordered
        out[..., joints, :] = back
    return out


def joint_limits_deg() -> np.ndarray:
    """(22, 3, 2) min/max per joint and Euler axis; the root is unlimited."""
    lim = np.tile(np.array([-180.0, 180.0]), (NUM_JOINTS, 3, 1))
    for name, axes in _LEFT_LIMITS.items():
        lim[JOINT_INDEX[name]] = axes
        if name.startswith("l_"):
            right = np.array(axes, dtype=float)
            right[1:] = -right[1:, ::-1]
            lim[JOINT_INDEX["r_" + name[2:]]] = right
    return lim
