"""HumanML3D-compatible 263-d motion features for the SMPL-22 body, and their exact inverse.

Layout per frame (HumanML3D, Guo et al. 2022), frames 0..T-2 of a T-frame clip:
  [0]       root angular velocity about Y (half-angle, rad/frame)
  [1:3]     root linear velocity on XZ in the facing frame (m/frame)
  [3]       root height (m)
  [4:67]    joints 1..21 relative to the root, in the facing frame (ric)
  [67:193]  6D rotation per joint slot 1..21: the local rotation of the bone parent(j) -> j
  [193:259] joint velocities in the facing frame
  [259:263] foot contacts (l_ankle, l_foot, r_ankle, r_foot)
Unlike HumanML3D's script, the first frame's facing is the *smoothed* facing, so the root rotation
integrates back exactly and decoding returns the canonical positions to float precision.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from envs.motion.motion import Motion, MotionError
from envs.quaternion import cont6d_to_quat, qbetween, qinv, qmul, qrot, quat_to_cont6d
from envs.skeleton import FACE_JOINTS, FOOT_JOINTS_LEFT, FOOT_JOINTS_RIGHT, SMPL22, Skeleton

FEATURE_DIM = 263
NUM_JOINTS = 22
ROOT_SLICE = slice(0, 4)
RIC_SLICE = slice(4, 4 + 21 * 3)
ROT_SLICE = slice(67, 67 + 21 * 6)
VEL_SLICE = slice(193, 193 + 22 * 3)
CONTACT_SLICE = slice(259, 263)
FEATURE_GROUPS = {
    "root_rot_vel": slice(0, 1), "root_lin_vel": slice(1, 3), "root_y": slice(3, 4),
    "ric": RIC_SLICE, "rot": ROT_SLICE, "vel": VEL_SLICE, "contact": CONTACT_SLICE,
}
FACING_SMOOTH_SIGMA = 20.0
CONTACT_VELOCITY_THRESHOLD = 0.002  # squared displacement per frame (m^2), as HumanML3D


def foot_contacts(positions: np.ndarray, joints: tuple[int, ...]) -> np.ndarray:
    """(T-1, len(joints)) HumanML3D's foot contacts: each joint moving less than CONTACT_VELOCITY_THRESHOLD (squared
    displacement) from one frame of ``positions`` (T, J, 3; the rule is set for 20 fps) to the next."""
    disp = np.sum((positions[1:, list(joints)] - positions[:-1, list(joints)]) ** 2, axis=-1)
    return disp < CONTACT_VELOCITY_THRESHOLD


def _facing_rotation(positions: np.ndarray, smooth: float = FACING_SMOOTH_SIGMA) -> np.ndarray:
    """Per-frame Y-rotation taking the body's smoothed forward direction onto +Z (HumanML3D's r_rot)."""
    r_hip, l_hip, r_sho, l_sho = FACE_JOINTS
    across = (positions[:, r_hip] - positions[:, l_hip]) + (positions[:, r_sho] - positions[:, l_sho])
    forward = np.cross(np.array([0.0, 1.0, 0.0]), across)
    forward[:, 1] = 0.0
    if smooth > 0 and len(forward) > 1:
        forward = gaussian_filter1d(forward, smooth, axis=0, mode="nearest")
    forward /= np.maximum(np.linalg.norm(forward, axis=-1, keepdims=True), 1e-9)
    return qbetween(forward, np.broadcast_to([0.0, 0.0, 1.0], forward.shape))


def canonicalise(motion: Motion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Floor at y=0, root XZ of frame 0 at the origin, smoothed facing of frame 0 along +Z.

    Returns canonical positions (T, J, 3), canonical local rotations (T, J, 4) and the per-frame
    facing rotation r_rot (T, 4), which is the identity at frame 0.
    """
    pos = motion.positions.copy()
    pos[..., 1] -= pos[..., 1].min()
    pos -= pos[0, 0] * np.array([1.0, 0.0, 1.0])
    r_rot = _facing_rotation(pos)
    align = r_rot[0]
    pos = qrot(np.broadcast_to(align, pos.shape[:-1] + (4,)), pos)
    rot = motion.rotations.copy()
    rot[:, 0] = qmul(np.broadcast_to(align, rot[:, 0].shape), rot[:, 0])
    r_rot = qmul(r_rot, qinv(np.broadcast_to(align, r_rot.shape)))
    r_rot = np.where(r_rot[:, :1] < 0, -r_rot, r_rot)
    return pos, rot, r_rot


def encode(motion: Motion, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """263-d features (T-1, 263) of a Motion on the SMPL-22 skeleton (float32)."""
    if motion.num_joints != NUM_JOINTS:
        raise MotionError(f"features need {NUM_JOINTS} joints, the motion has {motion.num_joints}")
    if motion.num_frames < 2:
        raise MotionError("features need at least 2 frames (velocities)")
    pos, rot, r_rot = canonicalise(motion)
    t, j = pos.shape[:2]
    r_rot_j = np.broadcast_to(r_rot[:, None], (t, j, 4))

    # Root: angular velocity as the half-angle of the Y rotation between frames, linear velocity in the facing frame.
    r_vel_q = qmul(r_rot[1:], qinv(r_rot[:-1]))
    r_vel_q = np.where(r_vel_q[:, :1] < 0, -r_vel_q, r_vel_q)
    r_velocity = np.arcsin(np.clip(r_vel_q[:, 2:3], -1.0, 1.0))
    l_velocity = qrot(r_rot[1:], pos[1:, 0] - pos[:-1, 0])[:, [0, 2]]
    root_y = pos[:-1, 0, 1:2]

    ric = pos.copy()
    ric[..., 0] -= pos[:, 0:1, 0]
    ric[..., 2] -= pos[:, 0:1, 2]
    ric = qrot(r_rot_j, ric)[:, 1:].reshape(t, -1)

    # Bone slot j holds the local rotation of parent(j); the root's is relative to the facing frame.
    bone_rot = np.empty((t, j - 1, 4))
    for child in range(1, j):
        parent = skeleton.parents[child]
        bone_rot[:, child - 1] = qmul(r_rot, rot[:, 0]) if parent == 0 else rot[:, parent]
    rot_data = quat_to_cont6d(bone_rot).reshape(t, -1)

    local_vel = qrot(r_rot_j[:-1], pos[1:] - pos[:-1]).reshape(t - 1, -1)

    feats = np.concatenate(
        [r_velocity, l_velocity, root_y, ric[:-1], rot_data[:-1], local_vel,
         foot_contacts(pos, FOOT_JOINTS_LEFT).astype(np.float64),
         foot_contacts(pos, FOOT_JOINTS_RIGHT).astype(np.float64)],
        axis=-1,
    ).astype(np.float32)
    if not np.isfinite(feats).all():  # coordinates too large for float32 (or for the arithmetic on them)
        frames = np.unique(np.nonzero(~np.isfinite(feats))[0])
        raise MotionError(f"features are not finite at frame(s) {frames[:5].tolist()} (coordinates too large?)")
    return feats


def recover_root(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Facing rotation r_rot (N, 4) and root positions (N, 3) integrated from the root features."""
    f = np.asarray(features, dtype=np.float64)
    ang = np.zeros(f.shape[0])
    ang[1:] = np.cumsum(f[:-1, 0])
    r_rot = np.zeros((f.shape[0], 4))
    r_rot[:, 0] = np.cos(ang)
    r_rot[:, 2] = np.sin(ang)
    step = np.zeros((f.shape[0], 3))
    step[1:, [0, 2]] = f[:-1, 1:3]
    root = np.cumsum(qrot(qinv(r_rot), step), axis=0)
    root[:, 1] = f[:, 3]
    return r_rot, root


def decode_positions(features: np.ndarray) -> np.ndarray:
    """Global joint positions (N, 22, 3) from features (N, 263), HumanML3D's ``recover_from_ric``."""
    f = _check_features(features)
    r_rot, root = recover_root(f)
    ric = f[:, RIC_SLICE].reshape(-1, NUM_JOINTS - 1, 3)
    pos = qrot(np.broadcast_to(qinv(r_rot)[:, None], ric.shape[:-1] + (4,)), ric)
    pos[..., 0] += root[:, None, 0]
    pos[..., 2] += root[:, None, 2]
    return np.concatenate([root[:, None], pos], axis=1)


def decode(features: np.ndarray, fps: float = 20.0, skeleton: Skeleton = SMPL22) -> Motion:
    """A Motion from features: positions from the ric channels, rotations from the 6D channels."""
    f = _check_features(features)
    positions = decode_positions(f)
    r_rot, _ = recover_root(f)
    bone_rot = cont6d_to_quat(f[:, ROT_SLICE].reshape(-1, NUM_JOINTS - 1, 6))
    local = np.zeros((f.shape[0], NUM_JOINTS, 4))
    local[..., 0] = 1.0
    for parent, kids in enumerate(skeleton.children):
        if kids:
            local[:, parent] = bone_rot[:, kids[0] - 1]
    local[:, 0] = qmul(qinv(r_rot), local[:, 0])
    return Motion(positions, local, fps)


def _check_features(features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != FEATURE_DIM:
        raise MotionError(f"features must have shape (N, {FEATURE_DIM}), got {f.shape}")
    if not np.all(np.isfinite(f)):
        raise MotionError("features contain NaN or inf")
    return f
