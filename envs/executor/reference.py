"""A Motion turned into what the tracker needs: joint-space targets, velocities and feed-forward."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.jit import compiled
from envs.executor.soles import box_bottom_corners, by_foot
from envs.humanoid import HumanoidSpec, quat_to_mujoco, to_mujoco
from envs.motion.motion import Motion
from envs.quaternion import qinv, qmul, quat_to_rotvec, slerp
from envs.skeleton import JOINT_NAMES, NUM_JOINTS, euler_order, joint_limits_deg, local_rotations_to_euler


@dataclass
class FootTrack:
    """Where a reference's feet are at each step, read in the pass that built it (reference_from_qpos)."""

    heels: np.ndarray  # (N, 2, 3) the heel boxes' centres (left, right)
    soles: np.ndarray  # (N, 2, 8, 3) each foot's sole corners: its heel box's four, then its toe box's


@dataclass
class Reference:
    """Reference at the control rate: qpos (N, 7 + 63), qvel (N, 6 + 63), feed-forward (N, 6 + 63)."""

    qpos: np.ndarray
    qvel: np.ndarray
    qfrc: np.ndarray  # inverse dynamics; the first 6 are the root wrench a fully physical body lacks
    positions: np.ndarray  # (N, 22, 3) MuJoCo frame, the reference joint positions
    dt: float
    com: np.ndarray | None = None  # (N, 3) centre of mass of the reference pose
    feet: FootTrack | None = None  # its feet, where it was built with the foot geoms (the executor does)

    @property
    def num_steps(self) -> int:
        return len(self.qpos)


def validate_motion(motion: Motion) -> None:
    """The executor's input contract; a bad Motion is a ValueError with a clear message."""
    if not isinstance(motion, Motion):
        raise ValueError(f"executor needs a Motion, got {type(motion).__name__}")
    if motion.num_joints != NUM_JOINTS:
        raise ValueError(f"executor needs {NUM_JOINTS} joints, the motion has {motion.num_joints}")
    if motion.num_frames < 2:
        raise ValueError(f"executor needs at least 2 frames, the motion has {motion.num_frames}")


def joint_angles(motion: Motion, clamp: bool = True) -> np.ndarray:
    """Hinge angles (T, 21, 3) in radians: each local rotation's Euler angles about X, Y, Z (per-joint order).

    Every rotation has two Euler triples, (a, b, c) and (a + pi, pi - b, c + pi); per frame and joint
    the one that better respects the joint's range (then the closer to the previous frame) is taken,
    so an elbow bent past 90 degrees stays a bend instead of flipping. The result is clamped to the ranges
    (``clamp=False``: as chosen, to read how far a clip lies outside them; docs/experiments/joint_range_clamps.py).
    """
    first = np.deg2rad(local_rotations_to_euler(motion.rotations)[:, 1:])
    # The alternative triple flips the middle axis of each joint's order and adds pi to the others.
    second = first + np.pi
    for j in range(1, NUM_JOINTS):
        mid = "XYZ".index(euler_order(j)[1])
        b = first[:, j - 1, mid]
        second[:, j - 1, mid] = np.where(b >= 0, np.pi, -np.pi) - b
    second = (second + np.pi) % (2 * np.pi) - np.pi
    lim = np.deg2rad(joint_limits_deg()[1:])
    lo, hi = lim[..., 0], lim[..., 1]

    def violation(e: np.ndarray) -> np.ndarray:
        return np.sum(np.clip(lo - e, 0, None) + np.clip(e - hi, 0, None), axis=-1)

    # Cost of a choice: range violation plus the jump from the previous frame's choice, so a joint
    # switches triple only when the range really demands it (a switch is a jump of ~pi per axis).
    out = np.unwrap(_choose_triples(first, second, violation(first), violation(second)), axis=0)
    return np.clip(out, lo[None], hi[None]) if clamp else out


@compiled
def _choose_triples(first: np.ndarray, second: np.ndarray, v1: np.ndarray, v2: np.ndarray) -> np.ndarray:
    """Per frame and joint the triple of lower cost: twice its range violation (``v1``, ``v2``: (T, J)) plus its
    wrapped jump from the previous frame's choice, summed over the three angles (compiled: a loop over frames)."""
    out = np.empty_like(first)
    for t in range(first.shape[0]):
        for j in range(first.shape[1]):
            c1, c2 = 2.0 * v1[t, j], 2.0 * v2[t, j]
            if t > 0:
                s1, s2 = 0.0, 0.0
                for a in range(3):
                    s1 += abs((first[t, j, a] - out[t - 1, j, a] + np.pi) % (2 * np.pi) - np.pi)
                    s2 += abs((second[t, j, a] - out[t - 1, j, a] + np.pi) % (2 * np.pi) - np.pi)
                c1, c2 = c1 + s1, c2 + s2
            chosen = second if c2 < c1 else first
            for a in range(3):
                out[t, j, a] = chosen[t, j, a]
    return out


def smoothed(x: np.ndarray, sigma_steps: float) -> np.ndarray:
    """``x`` (N, ...) under a Gaussian of ``sigma_steps`` steps along its first axis, the ends held (``x`` itself at 0).
    ``build_reference`` interpolates linearly between the clip's frames (here 20 fps onto the 60 Hz control steps), so
    the reference's velocities are steps that jump at every frame and its accelerations spikes: what a controller
    damps or feeds forward from them is smoothed with this (wholebody.py)."""
    if sigma_steps <= 0:
        return x
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(x, sigma_steps, axis=0, mode="nearest")


def build_reference(model, data, spec: HumanoidSpec, motion: Motion, control_hz: float,
                    body_ids: np.ndarray | None = None, foot_geoms: list[int] | None = None) -> Reference:
    """Express ``motion`` in MuJoCo at the control rate and run inverse dynamics on it (``foot_geoms``: see
    ``reference_from_qpos``).

    Joint angles are solved at the motion's own rate and interpolated linearly (they are unwrapped);
    the root orientation is slerped. Reference joint positions come from MuJoCo's kinematics of the
    reference state, so they are exactly what a perfect tracker would reach.
    """
    validate_motion(motion)
    dt = 1.0 / control_hz
    n = max(2, int(np.floor((motion.num_frames - 1) / motion.fps * control_hz)) + 1)
    src_t = np.arange(n) * dt * motion.fps  # fractional source frame of each control step
    i0 = np.clip(np.floor(src_t).astype(int), 0, motion.num_frames - 1)
    i1 = np.clip(i0 + 1, 0, motion.num_frames - 1)
    w = (src_t - i0)[:, None]
    angles = joint_angles(motion).reshape(motion.num_frames, -1)[:, spec.angle_columns()]
    angles = angles[i0] * (1 - w) + angles[i1] * w
    root_src = to_mujoco(motion.positions[:, 0])
    root = root_src[i0] * (1 - w) + root_src[i1] * w
    quat_src = quat_to_mujoco(motion.rotations[:, 0])
    quat = slerp(quat_src[i0], quat_src[i1], w)
    qpos = np.concatenate([root, quat, angles], axis=1)
    return reference_from_qpos(model, data, spec, qpos, dt, body_ids, foot_geoms)


def reference_from_qpos(model, data, spec: HumanoidSpec, qpos: np.ndarray, dt: float,
                        body_ids: np.ndarray | None = None, foot_geoms: list[int] | None = None) -> Reference:
    """A Reference from control-rate generalized positions: finite-difference velocities, inverse dynamics; with
    ``foot_geoms`` (left heel, right heel, left toes, right toes boxes) its feet too, from the same kinematics."""
    import mujoco

    n = len(qpos)
    root, quat, angles = qpos[:, :3], qpos[:, 3:7], qpos[:, 7:]

    qvel = np.zeros((n, 6 + angles.shape[1]))
    qvel[:-1, :3] = np.diff(root, axis=0) / dt
    # Free-joint angular velocity is in the body frame: axis-angle of q_t^-1 q_{t+1}, over dt.
    qvel[:-1, 3:6] = quat_to_rotvec(qmul(qinv(quat[:-1]), quat[1:])) / dt
    qvel[:-1, 6:] = np.diff(angles, axis=0) / dt
    qvel[-1] = qvel[-2]
    qacc = np.gradient(qvel, dt, axis=0)

    root_joint = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, f"{spec.prefix}root")
    qadr, dadr = model.jnt_qposadr[root_joint], model.jnt_dofadr[root_joint]
    pelvis = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"{spec.prefix}pelvis")
    if body_ids is None:
        body_ids = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f"{spec.prefix}{j}") for j in JOINT_NAMES])
    qfrc = np.zeros_like(qvel)
    com = np.zeros((n, 3))
    positions = np.zeros((n, len(body_ids), 3))
    feet = None if foot_geoms is None else FootTrack(np.zeros((n, 2, 3)), np.zeros((n, 2, 8, 3)))
    geoms = None if foot_geoms is None else np.asarray(foot_geoms, dtype=np.int64)
    boxes = None if foot_geoms is None else by_foot(foot_geoms)
    saved = (data.qpos.copy(), data.qvel.copy(), data.qacc.copy())
    # Inverse dynamics of the free-floating body: contact forces of an approximate reference are not
    # trusted (a millimetre of penetration means kilonewtons).
    flags = model.opt.disableflags
    model.opt.disableflags = flags | mujoco.mjtDisableBit.mjDSBL_CONTACT
    nq, nv = qpos.shape[1], qvel.shape[1]
    for t in range(n):
        data.qpos[qadr:qadr + nq] = qpos[t]
        data.qvel[dadr:dadr + nv] = qvel[t]
        data.qacc[dadr:dadr + nv] = qacc[t]
        mujoco.mj_inverse(model, data)
        qfrc[t] = data.qfrc_inverse[dadr:dadr + nv]
        com[t] = data.subtree_com[pelvis]
        positions[t] = data.xpos[body_ids]
        if feet is not None:  # mj_inverse ran the kinematics: the feet as mj_kinematics places them
            _record_feet(data.geom_xpos, data.geom_xmat, model.geom_size, geoms, boxes, feet.heels[t], feet.soles[t])
    model.opt.disableflags = flags
    data.qpos[:], data.qvel[:], data.qacc[:] = saved
    return Reference(qpos, qvel, qfrc, positions, dt, com, feet)


@compiled
def _record_feet(xpos: np.ndarray, xmat: np.ndarray, size: np.ndarray, geoms: np.ndarray, boxes: np.ndarray,
                 heels: np.ndarray, soles: np.ndarray) -> None:
    """Writes the heel boxes' centres (2, 3) and both feet's sole corners (2, 8, 3; feet_sole_corners' layout) in the
    current kinematics. ``geoms``: the foot geoms (left heel, right heel, left toes, right toes); ``boxes``: the
    same foot by foot (soles.by_foot)."""
    for f in range(2):
        for r in range(3):
            heels[f, r] = xpos[geoms[f], r]
    corners = box_bottom_corners(xpos, xmat, size, boxes)
    for f in range(2):
        for c in range(8):
            for r in range(3):
                soles[f, c, r] = corners[8 * f + c, r]
