"""The official HumanML3D 263-d feature pipeline, rewritten in numpy beside the project's own features.

HumanML3D (Guo et al. 2022, ``motion_representation.ipynb``: ``uniform_skeleton``, ``process_file``,
``recover_from_ric``, ``recover_from_rot``) defines the layout the project's ``envs.motion.features`` also
uses, but with other meanings in places. This module reproduces the official numbers (parity with the
official code on ``tests/data/humanml3d_parity``, <= 1e-5 in every block) so that HumanML3D folders can be
read and written exactly. The project's own models keep ``envs.motion.features`` (docs/humanml3d.md).

What the official pipeline does, and this module with ``convention="official"``:
  - ``uniform_skeleton``: every bone keeps its direction and takes the length of the dataset's target
    skeleton (clip 000021); the root trajectory is scaled by the ratio of right thigh + shin lengths.
  - floor at y = 0 (lowest joint of the clip), frame 0's root XZ at the origin, frame 0 turned so that its
    *raw* facing (hips and shoulders, right minus left) points along +Z.
  - the per-frame facing r_rot comes from the IK with a quirk (flagged ``FACING_QUIRK``): its hip pair is
    unpacked in the wrong order, so the "across" vector is (l_hip - r_hip) + (r_shoulder - l_shoulder),
    the shoulder width minus the hip width, instead of their sum; it is normalised, turned into a forward
    vector, smoothed (Gaussian, sigma 20 frames), and r_rot[0] is forced to the identity.
  - root angular velocity = arcsin of the Y component of r_rot[t+1] * r_rot[t]^-1, with no hemisphere
    check: where the facing passes 180 degrees the sign flips (flagged ``HEMISPHERE_QUIRK``), and the
    official decoders then turn the rest of the clip by twice that frame's turn.
  - rot block [67:193]: per joint j (1..21) the local rotation of the swing from the raw offset direction
    of j (``T2M_RAW_OFFSETS``) onto the bone parent(j) -> j, chained along each kinematic chain from
    r_rot; every chain restarts at r_rot (the arm chains do not start from spine3's rotation).
  - contacts: squared displacement of ankle and toe < 0.002 m^2 per frame.
``convention="corrected"`` keeps all of that except the two quirks: the across vector uses the hip pair
in the right order, and the root angular velocity takes the shortest arc, so the official decoders give
back the processed positions also across a 180-degree turn.
"""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from envs.motion.features import FEATURE_DIM, ROT_SLICE, decode_positions, recover_root
from envs.motion import hml3d_f32 as t32
from envs.quaternion import cont6d_to_matrix, quat_to_matrix
from envs.skeleton import KINEMATIC_CHAINS, PARENTS

CONVENTIONS = ("official", "corrected")
FACING_QUIRK = "the IK's facing uses (l_hip - r_hip) + (r_shoulder - l_shoulder): the hip pair is swapped"
HEMISPHERE_QUIRK = "root angular velocity has no hemisphere check: its sign flips where the facing passes 180 deg"
FEET_THRESHOLD = 0.002  # squared displacement per frame (m^2)
FACING_SIGMA = 20.0
NUM_JOINTS = 22

# HumanML3D's t2m_raw_offsets (paramUtil.py): the rest direction of each joint's bone, parent -> joint.
T2M_RAW_OFFSETS = np.array([
    [0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0],
    [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [0, -1, 0], [0, -1, 0],
    [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0],
], dtype=np.float64)

# Bone lengths (m) of HumanML3D's target skeleton: the official script measures them on frame 0 of clip
# 000021 (AMASS, not redistributed); every processed clip has them, so they were read (float32, as the
# official Skeleton stores them) off frame 0 of new_joints/012314.npy, the clip the official repository
# ships. benchmarks/humanml3d_parity_fixture.py measures them again from the official checkout.
T2M_BONE_LENGTHS = np.array([
    0.0, 0.10307395, 0.10988335, 0.13156825, 0.39362314, 0.39018813, 0.14319026, 0.43243298, 0.42564332,
    0.057364706, 0.14338174, 0.14941867, 0.21936, 0.13748683, 0.14338283, 0.10303927, 0.13161398,
    0.122984305, 0.25683984, 0.26309186, 0.26601186, 0.2698763,
])
# uniform_skeleton scales the root by the ratio of these two bones (right knee and ankle: thigh and shin).
_LEG_BONES = (5, 8)
_FEET = ((7, 10), (8, 11))  # left ankle/toe, right ankle/toe
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])


def t2m_offsets(lengths: np.ndarray = T2M_BONE_LENGTHS) -> np.ndarray:
    """Offsets (22, 3) of the official skeleton: raw directions times bone lengths."""
    return T2M_RAW_OFFSETS * np.asarray(lengths, dtype=np.float64)[:, None]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.sqrt(np.sum(v * v, axis=-1, keepdims=True))


def _across(positions: np.ndarray, convention: str) -> np.ndarray:
    """The IK's across vector (not normalised), with the official hip-pair quirk or corrected."""
    r_hip, l_hip, r_sho, l_sho = 2, 1, 17, 16
    hips = positions[:, l_hip] - positions[:, r_hip] if convention == "official" else positions[:, r_hip] - positions[:, l_hip]
    return hips + (positions[:, r_sho] - positions[:, l_sho])


def _facing_from_forward(forward: np.ndarray) -> np.ndarray:
    root = t32.qbetween(forward, np.broadcast_to(_Z, forward.shape))
    root[0] = [1.0, 0.0, 0.0, 0.0]
    return root


def facing_rotation(positions: np.ndarray, convention: str = "official", smooth: bool = True) -> np.ndarray:
    """The official IK's root rotation r_rot (T, 4) float32, identity at frame 0 (see module doc). Float32
    positions are handled in float32 as the official code does; float64 ones in float64 up to the swing."""
    _check_convention(convention)
    across = _across(positions, convention)
    across = t32.unit(across) if across.dtype == np.float32 else _unit(across)
    forward = np.cross(np.array([[0, 1, 0]]), across, axis=-1)  # float64, exactly (a_z, 0, -a_x)
    if smooth:
        forward = gaussian_filter1d(forward, FACING_SIGMA, axis=0, mode="nearest")
    return _facing_from_forward(_unit(forward))


def bone_swings(positions: np.ndarray, root: np.ndarray) -> np.ndarray:
    """The official rot-block quaternions (T, 22, 4) float32: [0] = ``root``, [j] = local rotation of the swing
    from T2M_RAW_OFFSETS[j] onto the bone parent(j) -> j, chained from ``root`` along each kinematic chain."""
    quat = np.zeros(positions.shape[:2] + (4,), dtype=np.float32)
    quat[:, 0] = root
    for chain in KINEMATIC_CHAINS:
        acc = t32.f32(root)
        for a, b in zip(chain[:-1], chain[1:]):
            bone = positions[:, b] - positions[:, a]
            bone = t32.unit(bone) if bone.dtype == np.float32 else _unit(bone)
            swing = t32.qbetween(np.broadcast_to(T2M_RAW_OFFSETS[b], bone.shape), bone)
            quat[:, b] = t32.qmul(t32.qinv(acc), swing)
            acc = t32.qmul(acc, quat[:, b])
    return quat


def uniform_skeleton(positions: np.ndarray, lengths: np.ndarray = T2M_BONE_LENGTHS, convention: str = "official") -> np.ndarray:
    """HumanML3D's ``uniform_skeleton``: bone directions kept, bone lengths of the target skeleton, the root
    trajectory scaled by the target's (right thigh + shin) over the clip's, measured on frame 0. The bones
    are laid by the official IK + FK in float32 (its rounding, ~1e-7 m, is kept)."""
    pos = np.asarray(positions, dtype=np.float64)
    src = t32.f32(np.linalg.norm(pos[0, list(_LEG_BONES)] - pos[0, [PARENTS[j] for j in _LEG_BONES]], axis=-1))
    tgt = t32.f32(np.asarray(lengths)[list(_LEG_BONES)])
    scale = (tgt[0] + tgt[1]) / (src[0] + src[1])
    quat = bone_swings(pos, facing_rotation(pos, convention, smooth=False))
    offsets = t32.f32(t2m_offsets(t32.f32(lengths).astype(np.float64)))
    out = np.zeros_like(pos)
    out[:, 0] = pos[:, 0] * np.float64(scale)
    for chain in KINEMATIC_CHAINS:
        acc = quat[:, 0]
        for a, b in zip(chain[:-1], chain[1:]):
            acc = t32.qmul(acc, quat[:, b])
            out[:, b] = t32.qrot(acc, np.broadcast_to(offsets[b], (len(pos), 3))) + out[:, a]
    return out


def process(positions: np.ndarray, convention: str = "official", uniform: bool = True,
            lengths: np.ndarray = T2M_BONE_LENGTHS, feet_threshold: float = FEET_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
    """HumanML3D's ``process_file``: joint positions (T, 22, 3), Y up, metres -> (features (T-1, 263) float32,
    the processed global positions (T, 22, 3) float32 the features describe)."""
    _check_convention(convention)
    pos = np.array(positions, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[1:] != (NUM_JOINTS, 3) or len(pos) < 2:
        raise ValueError(f"HumanML3D features need joints of shape (T>=2, {NUM_JOINTS}, 3), got {pos.shape}")
    if not np.all(np.isfinite(pos)):
        raise ValueError("joint positions contain NaN or inf")
    if uniform:
        pos = uniform_skeleton(pos, lengths, convention)
    pos[..., 1] -= pos.min(axis=0).min(axis=0)[1]
    pos -= pos[0, 0] * np.array([1.0, 0.0, 1.0])
    # Frame 0 faces +Z by its raw facing, hip pair in the right order (unlike the IK below); from here
    # on the official code holds the positions in float32.
    across = _unit((pos[0, 2] - pos[0, 1]) + (pos[0, 17] - pos[0, 16]))
    init = t32.qbetween(_unit(np.cross(_Y, across)), _Z)
    pos = t32.qrot(init, pos)
    glob = pos.copy()

    feet = []
    for ids in _FEET:
        d = pos[1:, list(ids)] - pos[:-1, list(ids)]
        feet.append(((d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]) + d[..., 2] * d[..., 2]).astype(np.float64) < feet_threshold)
    r_rot = facing_rotation(pos, convention)
    quat = bone_swings(pos, r_rot)
    velocity = t32.qrot(r_rot[1:], pos[1:, 0] - pos[:-1, 0])
    r_velocity = t32.qmul(r_rot[1:], t32.qinv(r_rot[:-1]))
    if convention == "corrected":
        r_velocity = np.where(r_velocity[:, :1] < 0, -r_velocity, r_velocity)
    ric = pos.copy()
    ric[..., 0] -= pos[:, 0:1, 0]
    ric[..., 2] -= pos[:, 0:1, 2]
    ric = t32.qrot(r_rot[:, None], ric)
    t = len(pos)
    local_vel = t32.qrot(r_rot[:-1, None], glob[1:] - glob[:-1])
    data = np.concatenate([
        np.arcsin(r_velocity[:, 2:3]), velocity[:, [0, 2]], ric[:-1, 0, 1:2],
        ric[:-1, 1:].reshape(t - 1, -1), t32.quat_to_cont6d(quat[:-1, 1:]).reshape(t - 1, -1),
        local_vel.reshape(t - 1, -1), feet[0].astype(np.float32), feet[1].astype(np.float32),
    ], axis=-1)
    return data.astype(np.float32), glob


def encode_official(positions: np.ndarray, convention: str = "official", uniform: bool = True) -> np.ndarray:
    """HumanML3D features (T-1, 263) float32 of joint positions (T, 22, 3); see :func:`process`."""
    return process(positions, convention, uniform)[0]


def recover_from_ric(features: np.ndarray) -> np.ndarray:
    """Official ``recover_from_ric``: positions (N, 22, 3) from the root and ric channels. The same math as
    the project's ``decode_positions`` (both conventions decode alike)."""
    return decode_positions(features)


def recover_from_rot(features: np.ndarray, lengths: np.ndarray = T2M_BONE_LENGTHS) -> np.ndarray:
    """Official ``recover_from_rot``: positions (N, 22, 3) by FK of the rot block on the target skeleton."""
    f = _check(features)
    r_rot, root = recover_root(f)
    mats = cont6d_to_matrix(f[:, ROT_SLICE].reshape(len(f), NUM_JOINTS - 1, 6))
    offsets = t2m_offsets(lengths)
    pos = np.zeros((len(f), NUM_JOINTS, 3))
    pos[:, 0] = root
    root_mat = quat_to_matrix(r_rot)
    for chain in KINEMATIC_CHAINS:
        acc = root_mat
        for a, b in zip(chain[:-1], chain[1:]):
            acc = acc @ mats[:, b - 1]
            pos[:, b] = pos[:, a] + acc @ offsets[b]
    return pos


def _check(features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[1] != FEATURE_DIM:
        raise ValueError(f"features must have shape (N, {FEATURE_DIM}), got {f.shape}")
    return f


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"HumanML3D convention must be one of {CONVENTIONS}, got {convention!r}")
