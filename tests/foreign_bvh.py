"""Clips in other people's skeletons, made from this project's synthetic motion for the joint-map tests.

The skeletons (kept out of the repository: other people's rigs; the folder named by $L2EMG_FOREIGN_BVH_ROOT) carry the real joint names, offsets, channel orders and units of
their sources: ``cmu.bvh`` (the CMU mocap BVH conversion, CMU units of 1/0.45 inch, ZYX), ``lafan1.bvh``
(Ubisoft LAFAN1: cm, every joint with 6 channels, bones along X at rest, a root OFFSET), ``mixamo.bvh``
(a Mixamo rig export: cm, ``mixamorig:`` names with fingers and eyes, ZYX), and ``toeless.bvh`` (a small
rig of our own, metres, ZXY, whose feet end in End Sites). ``drive`` animates one of them from an SMPL-22
Motion: each listed source joint follows the global rotation of an SMPL joint (``attach``), calibrated once
so that its rest bones point where the SMPL rest pose has the matching points; unlisted joints ride rigidly
on their parent. The written file goes through the project's own writer.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from envs.io.bvh import BVHClip, read_bvh
from envs.io.bvh_units import up_rotation
from envs.motion import Motion
from envs.quaternion import kabsch_rotation, matrix_to_euler, qbetween, quat_to_matrix
from envs.skeleton import JOINT_INDEX, SMPL22

SKELETONS_ENV = "L2EMG_FOREIGN_BVH_ROOT"
SKELETONS = Path(os.environ[SKELETONS_ENV]) if os.environ.get(SKELETONS_ENV) else None


def skeleton_file(name: str) -> Path:
    """The rig file ``<name>.bvh`` from $L2EMG_FOREIGN_BVH_ROOT; the test is skipped, saying so, without it."""
    import pytest

    path = SKELETONS / f"{name}.bvh" if SKELETONS is not None else None
    if path is None or not path.is_file():
        pytest.skip(f"{name}.bvh: foreign rigs (cmu, lafan1, mixamo, toeless) are not in the repository; "
                    f"set {SKELETONS_ENV} to a folder holding them")
    return path
M = "mixamorig:"


def _sides(table: dict) -> dict:
    """Add the right side of a left-side spec ('Left'/'L' names, 'l_' joints)."""
    out = dict(table)
    for name, (point, attach) in table.items():
        if "Left" in name or name.startswith("L") and name[1:2].isupper():
            rname = name.replace("Left", "Right") if "Left" in name else "R" + name[1:]
            flip = lambda s: s.replace("l_", "r_") if isinstance(s, str) else s  # noqa: E731
            if isinstance(point, tuple) and len(point) == 2:
                rpoint = (flip(point[0]), (-point[1][0], point[1][1], point[1][2]))
            elif isinstance(point, tuple):
                rpoint = (flip(point[0]), flip(point[1]), point[2])
            else:
                rpoint = flip(point)
            out[rname] = (rpoint, flip(attach))
    return out


# source point -> (its place on the SMPL body: a joint, (a, b, t) between two, or (joint, offset m)), SMPL joint it turns with)
SPECS = {
    "mixamo": _sides({f"{M}Hips": ("pelvis", "pelvis"), f"{M}Spine": ("spine1", "spine1"), f"{M}Spine1": ("spine2", "spine2"),
                      f"{M}Spine2": ("spine3", "spine3"), f"{M}Neck": ("neck", "neck"), f"{M}Head": ("head", "head"),
                      f"{M}HeadTop_End": (("head", (0.0, 0.17, 0.05)), "head"),
                      f"{M}LeftShoulder": ("l_collar", "l_collar"), f"{M}LeftArm": ("l_shoulder", "l_shoulder"),
                      f"{M}LeftForeArm": ("l_elbow", "l_elbow"), f"{M}LeftHand": ("l_wrist", "l_wrist"),
                      f"{M}LeftUpLeg": ("l_hip", "l_hip"), f"{M}LeftLeg": ("l_knee", "l_knee"), f"{M}LeftFoot": ("l_ankle", "l_ankle"),
                      f"{M}LeftToeBase": ("l_foot", "l_foot"), f"{M}LeftToeBase_End": (("l_foot", (0.0, 0.0, 0.08)), "l_foot")}),
    # LAFAN1: Hips is level with the hip joints (offsets along the spine axis ~0) and the spine starts 7 cm
    # above it; Spine2, 32 cm up, is where the neck and the clavicles leave.
    "lafan1": _sides({"Hips": (("l_hip", "r_hip", 0.5), "pelvis"), "Spine": ("pelvis", "pelvis"), "Spine1": ("spine1", "spine1"),
                      "Spine2": ("spine2", "spine3"), "Neck": ("neck", "neck"), "Head": ("head", "head"),
                      "LeftShoulder": ("l_collar", "l_collar"), "LeftArm": ("l_shoulder", "l_shoulder"),
                      "LeftForeArm": ("l_elbow", "l_elbow"), "LeftHand": ("l_wrist", "l_wrist"),
                      "LeftUpLeg": ("l_hip", "l_hip"), "LeftLeg": ("l_knee", "l_knee"), "LeftFoot": ("l_ankle", "l_ankle"),
                      "LeftToe": ("l_foot", "l_foot")}),
    # CMU: LowerBack and Neck start where their parents are; the arms and the neck leave Spine1, at the top
    # of the thorax; the hip joints hang off LHipJoint/RHipJoint (also at Hips).
    "cmu": _sides({"Hips": ("pelvis", "pelvis"), "LHipJoint": ("pelvis", "pelvis"), "LowerBack": ("pelvis", "pelvis"),
                   "Spine": ("spine1", "spine1"), "Spine1": (("spine3", "neck", 0.5), "spine3"), "Neck": (("spine3", "neck", 0.5), "spine3"),
                   "Neck1": ("neck", "neck"), "Head": ("head", "head"), "Head_End": (("head", (0.0, 0.12, 0.0)), "head"),
                   "LeftShoulder": (("spine3", "neck", 0.5), "l_collar"), "LeftArm": ("l_shoulder", "l_shoulder"),
                   "LeftForeArm": ("l_elbow", "l_elbow"), "LeftHand": ("l_wrist", "l_wrist"),
                   "LeftUpLeg": ("l_hip", "l_hip"), "LeftLeg": ("l_knee", "l_knee"), "LeftFoot": ("l_ankle", "l_ankle"),
                   "LeftToeBase": ("l_foot", "l_foot"), "LeftToeBase_End": (("l_foot", (0.0, 0.0, 0.06)), "l_foot")}),
    "toeless": _sides({"Hips": ("pelvis", "pelvis"), "Spine": ("spine1", "spine1"), "Chest": ("spine3", "spine3"),
                       "Neck": ("neck", "neck"), "Head": ("head", "head"), "Head_End": (("head", (0.0, 0.15, 0.02)), "head"),
                       "LeftCollar": ("l_collar", "l_collar"), "LeftArm": ("l_shoulder", "l_shoulder"),
                       "LeftForeArm": ("l_elbow", "l_elbow"), "LeftHand": ("l_wrist", "l_wrist"),
                       "LeftUpLeg": ("l_hip", "l_hip"), "LeftLeg": ("l_knee", "l_knee"), "LeftFoot": ("l_ankle", "l_ankle"),
                       "LeftFoot_End": ("l_foot", "l_ankle")}),
}
UNITS_M = {"mixamo": 0.01, "lafan1": 0.01, "cmu": 0.0254 / 0.45, "toeless": 1.0}


def _point(spec, pos: np.ndarray, rot: np.ndarray) -> np.ndarray:
    """A spec point on SMPL positions (F, 22, 3) with global rotation matrices (F, 22, 3, 3)."""
    if isinstance(spec, str):
        return pos[:, JOINT_INDEX[spec]]
    if len(spec) == 2:
        j = JOINT_INDEX[spec[0]]
        return pos[:, j] + rot[:, j] @ np.asarray(spec[1], dtype=float)
    a, b, t = spec
    return pos[:, JOINT_INDEX[a]] + t * (pos[:, JOINT_INDEX[b]] - pos[:, JOINT_INDEX[a]])


def drive(skeleton: str, motion: Motion, fps: float = 30.0, z_up: bool = False, units_m: float | None = None,
          source: str = "") -> BVHClip:
    """A clip in ``skeleton`` (a file stem in $L2EMG_FOREIGN_BVH_ROOT) moving like ``motion``; ``units_m`` writes
    it in another unit (metres per file unit) than the skeleton's own."""
    skel = read_bvh(skeleton_file(skeleton))
    spec, unit = SPECS[skeleton], units_m or UNITS_M[skeleton]
    rescale = UNITS_M[skeleton] / unit
    m = motion.resample(fps)
    names, parents = skel.point_names(), skel.point_parents()
    n_joints = len(skel.names)
    offsets = np.concatenate([skel.offsets, np.array([skel.end_sites[j] for j in sorted(skel.end_sites)]).reshape(-1, 3)])
    rest_rot = np.broadcast_to(np.eye(3), (1, 22, 3, 3))
    rest = {n: _point(p, SMPL22.rest_positions()[None], rest_rot)[0] for n, (p, _) in spec.items()}
    rot = quat_to_matrix(SMPL22.global_rotations(m.rotations))
    glob = np.zeros((m.num_frames, n_joints, 3, 3))
    for j in range(n_joints):
        name = names[j]
        if name not in spec:
            glob[:, j] = glob[:, parents[j]]
            continue
        kids = [k for k in range(len(names)) if parents[k] == j and names[k] in spec and np.linalg.norm(offsets[k]) > 1e-9]
        calib = np.eye(3)
        if len(kids) == 1:
            calib = quat_to_matrix(qbetween(offsets[kids[0]], rest[names[kids[0]]] - rest[name]))
        elif kids:
            src = np.array([offsets[k] / np.linalg.norm(offsets[k]) for k in kids])
            dst = np.array([(rest[names[k]] - rest[name]) / np.linalg.norm(rest[names[k]] - rest[name]) for k in kids])
            calib = kabsch_rotation(src, dst)
        glob[:, j] = rot[:, JOINT_INDEX[spec[name][1]]] @ calib
    root = _point(spec[skel.names[0]][0], m.positions, rot) / unit
    end_sites = {j: skel.end_sites[j] * rescale for j in skel.end_sites}
    file_offsets = skel.offsets * rescale
    if z_up:  # the same body, written by a Z-up tool: every vector and rotation turned by Y-up -> Z-up
        turn = up_rotation("+z").T
        glob = turn @ glob @ turn.T
        root = root @ turn.T
        file_offsets = file_offsets @ turn.T
        end_sites = {j: turn @ v for j, v in end_sites.items()}
    local = glob.copy()
    for j in range(1, n_joints):
        local[:, j] = np.swapaxes(glob[:, parents[j]], -1, -2) @ glob[:, j]
    cols = []
    for j, chans in enumerate(skel.channels):
        order = "".join(c[0] for c in chans if c.endswith("rotation"))
        euler = np.rad2deg(np.unwrap(np.deg2rad(matrix_to_euler(local[:, j], order)), axis=0))
        pos = root if j == 0 else np.broadcast_to(file_offsets[j], (m.num_frames, 3))
        for c in chans:
            cols.append(pos[:, "XYZ".index(c[0])] if c.endswith("position") else euler[:, order.index(c[0])])
    values = np.stack(cols, axis=1)
    return BVHClip(list(skel.names), list(skel.parents), file_offsets, [list(c) for c in skel.channels], 1.0 / fps,
                   values, source or f"{skeleton}.bvh", end_sites)
