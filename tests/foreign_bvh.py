"""Clips in other people's skeleton conventions, made here from this project's synthetic motion for the joint-map tests.

No rig file of anyone else is read or committed: ``skeleton(name)`` builds each rig in code from the published
conventions of its source (joint names and tree, channels and their order, unit, rest-pose layout) with bone
offsets of our own, placed on the SMPL-22 rest pose and stretched by per-rig proportions so that the maps meet
a body that is not SMPL's: ``cmu`` (the CMU mocap BVH conversion: CMU units of 1/0.45 inch, ZYX, zero-length
``LHipJoint``/``LowerBack``/``Neck``/``LeftShoulder`` links, finger stubs), ``lafan1`` (Ubisoft LAFAN1: cm,
every joint with 6 channels, each bone along its parent's X at rest, a root OFFSET, ``Hips`` level with the
hip joints), ``mixamo`` (a Mixamo export: cm, ``mixamorig:`` names, fingers, eyes, ``HeadTop_End`` joint,
right leg listed first) and ``toeless`` (metres, ZXY, feet ending in End Sites). ``rig_text(name)`` is the
rig as a file (tabs for CMU, CRLF line ends for Mixamo, as those sources write them).

``drive`` animates a rig from an SMPL-22 Motion: each listed source joint follows the global rotation of an
SMPL joint (``attach``), calibrated once so that its rest bones point where the SMPL rest pose has the
matching points; unlisted joints ride rigidly on their parent. The written file goes through the project's
own writer.
"""
from __future__ import annotations

import numpy as np

from envs.io.bvh import BVHClip
from envs.io.bvh_write import bvh_text
from envs.io.bvh_units import up_rotation
from envs.motion import Motion
from envs.quaternion import kabsch_rotation, matrix_to_euler, qbetween, quat_to_matrix
from envs.skeleton import JOINT_INDEX, SMPL22

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
    """A clip in rig ``skeleton`` moving like ``motion``; ``units_m`` writes it in another unit (metres per file
    unit) than the rig's own."""
    skel = build_skeleton(skeleton)
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


# The rigs. A joint is (name, parent, place): ``place`` None takes the joint's point from SPECS (where it sits on
# the SMPL body), ("+", (x, y, z)) puts it that many metres from its parent (SMPL rest frame: +x the body's left,
# +y up, +z forward). End Sites are {joint: place} the same way. Left-side chains are written once (``_mirror``).
def _mirror(entries: list) -> list:
    def name(n):
        if n is None:
            return None
        if "Left" in n:
            return n.replace("Left", "Right")
        return "R" + n[1:] if n[:1] == "L" and n[1:2].isupper() else n

    def place(p):
        return ("+", (-p[1][0], p[1][1], p[1][2])) if p is not None and p[0] == "+" else p

    return [(name(n), name(parent), place(p)) for n, parent, p in entries]


def _with_right(entries: list) -> list:
    return entries + _mirror(entries)


def _prefixed(prefix: str, entries: list) -> list:
    return [(prefix + n, prefix + p if p else p, place) for n, p, place in entries]


_CMU_LEG = [("LHipJoint", "Hips", None), ("LeftUpLeg", "LHipJoint", None), ("LeftLeg", "LeftUpLeg", None),
            ("LeftFoot", "LeftLeg", None), ("LeftToeBase", "LeftFoot", None)]
_CMU_ARM = [("LeftShoulder", "Spine1", None), ("LeftArm", "LeftShoulder", None), ("LeftForeArm", "LeftArm", None),
            ("LeftHand", "LeftForeArm", None), ("LeftFingerBase", "LeftHand", ("+", (0.0, 0.0, 0.0))),
            ("LeftHandIndex1", "LeftFingerBase", ("+", (0.035, 0.0, 0.0))), ("LThumb", "LeftHand", ("+", (0.0, 0.0, 0.0)))]
_MIXAMO_FINGERS = [(f"LeftHand{finger}{k}", "LeftHand" if k == 1 else f"LeftHand{finger}{k - 1}", ("+", step))
                   for finger, steps in {"Middle": [(0.105, -0.012, 0.008), (0.036, -0.002, 0.0), (0.033, -0.006, 0.0)],
                                         "Thumb": [(0.033, -0.02, 0.036), (0.035, -0.015, 0.028), (0.034, -0.018, 0.021)],
                                         "Index": [(0.098, -0.011, 0.032), (0.038, -0.006, 0.0), (0.033, -0.007, 0.0)],
                                         "Ring": [(0.1, -0.016, -0.013), (0.036, -0.002, 0.0), (0.033, -0.003, 0.0)],
                                         "Pinky": [(0.09, -0.021, -0.036), (0.041, -0.003, 0.0), (0.026, -0.003, 0.0)]}.items()
                   for k, step in enumerate(steps, start=1)]
_MIXAMO_LEG = [("LeftUpLeg", "Hips", None), ("LeftLeg", "LeftUpLeg", None), ("LeftFoot", "LeftLeg", None),
               ("LeftToeBase", "LeftFoot", None)]
_JOINTS = {"cmu": [("Hips", None, None)] + _with_right(_CMU_LEG)
          + [("LowerBack", "Hips", None), ("Spine", "LowerBack", None), ("Spine1", "Spine", None), ("Neck", "Spine1", None),
             ("Neck1", "Neck", None), ("Head", "Neck1", None)] + _with_right(_CMU_ARM),
          "mixamo": _prefixed(M, [("Hips", None, None), ("Spine", "Hips", None), ("Spine1", "Spine", None),
                                  ("Spine2", "Spine1", None), ("Neck", "Spine2", None), ("Head", "Neck", None),
                                  ("HeadTop_End", "Head", None)] + _with_right([("LeftEye", "Head", ("+", (0.031, 0.075, 0.09)))])
                              + _with_right([("LeftShoulder", "Spine2", None), ("LeftArm", "LeftShoulder", None),
                                             ("LeftForeArm", "LeftArm", None), ("LeftHand", "LeftForeArm", None)] + _MIXAMO_FINGERS)
                              + _mirror(_MIXAMO_LEG) + _MIXAMO_LEG),
          "lafan1": [("Hips", None, None)] + _with_right([("LeftUpLeg", "Hips", None), ("LeftLeg", "LeftUpLeg", None),
                                                          ("LeftFoot", "LeftLeg", None), ("LeftToe", "LeftFoot", None)])
          + [("Spine", "Hips", None), ("Spine1", "Spine", None), ("Spine2", "Spine1", None), ("Neck", "Spine2", None),
             ("Head", "Neck", None)]
          + _with_right([("LeftShoulder", "Spine2", None), ("LeftArm", "LeftShoulder", None), ("LeftForeArm", "LeftArm", None),
                         ("LeftHand", "LeftForeArm", None)]),
          "toeless": [("Hips", None, None)] + _with_right([("LeftUpLeg", "Hips", None), ("LeftLeg", "LeftUpLeg", None),
                                                           ("LeftFoot", "LeftLeg", None)])
          + [("Spine", "Hips", None), ("Chest", "Spine", None), ("Neck", "Chest", None), ("Head", "Neck", None)]
          + _with_right([("LeftCollar", "Chest", None), ("LeftArm", "LeftCollar", None), ("LeftForeArm", "LeftArm", None),
                         ("LeftHand", "LeftForeArm", None)])}
_ENDS = {"cmu": _with_right([("LeftToeBase", None, None), ("LeftHandIndex1", None, ("+", (0.025, 0.0, 0.0))),
                             ("LThumb", None, ("+", (0.02, -0.01, 0.02)))]) + [("Head", None, None)],
         "mixamo": _prefixed(M, [("HeadTop_End", None, ("+", (0.0, 0.06, 0.0)))]
                             + _with_right([("LeftEye", None, ("+", (0.0, 0.0, 0.02))), ("LeftToeBase", None, None)]
                                           + [(f"LeftHand{f}3", None, ("+", (0.025, -0.003, 0.0)))
                                              for f in ("Middle", "Thumb", "Index", "Ring", "Pinky")])),
         "lafan1": _with_right([("LeftToe", None, ("+", (0.0, -0.01, 0.05))), ("LeftHand", None, ("+", (0.1, 0.0, 0.0)))])
         + [("Head", None, ("+", (0.0, 0.1, 0.0)))],
         "toeless": _with_right([("LeftFoot", None, None), ("LeftHand", None, ("+", (0.08, 0.0, 0.0)))]) + [("Head", None, None)]}
# Proportions that are not SMPL's: (x, y, z) stretch of the whole body, then of the legs (below the hips) and
# of the arms (out from the collars) along their length.
_BUILD = {"cmu": ((1.0, 1.04, 1.0), 1.06, 0.97), "lafan1": ((0.96, 1.0, 1.0), 1.03, 1.05),
          "mixamo": ((1.03, 1.02, 1.0), 0.98, 1.02), "toeless": ((1.0, 1.0, 1.0), 1.04, 1.0)}
_ROTATIONS = {"cmu": "ZYX", "lafan1": "ZYX", "mixamo": "ZYX", "toeless": "ZXY"}
_FRAME_TIME = {"cmu": 1 / 120, "lafan1": 1 / 30, "mixamo": 1 / 30, "toeless": 0.04}
_ROOT_OFFSET_M = {"lafan1": (-0.31, 0.0, 0.47)}  # LAFAN1 files carry their first frame's root place as OFFSET


def _end_name(joint: str) -> str:
    return joint + "_End"


def _placed(spec_name: str, place, parent_point, spec: dict) -> np.ndarray:
    """Where a joint or End Site sits on the SMPL rest pose (metres)."""
    rest = SMPL22.rest_positions()[None]
    if place is None:
        return _point(spec[spec_name][0], rest, np.broadcast_to(np.eye(3), (1, 22, 3, 3)))[0]
    return parent_point + np.asarray(place[1], dtype=float)


def _stretched(points: dict[str, np.ndarray], rig: str, legs: set[str], arms: dict[str, str]) -> dict[str, np.ndarray]:
    """Points moved to the rig's proportions: legs lengthened downwards from the hips' height, each arm point
    moved out along its side from its collar."""
    body, leg_k, arm_k = _BUILD[rig]
    hip_y = SMPL22.rest_positions()[JOINT_INDEX["l_hip"], 1]
    out = {}
    for n, p in points.items():
        p = p.copy()
        if n in legs:
            p[1] = hip_y + (p[1] - hip_y) * leg_k
        if n in arms:
            base = points[arms[n]]
            p = base + (p - base) * arm_k
        out[n] = p * np.asarray(body)
    return out


def build_skeleton(rig: str) -> BVHClip:
    """Rig ``rig`` (cmu, lafan1, mixamo, toeless) with one frame standing in its T-pose."""
    entries, spec, unit = _JOINTS[rig], SPECS[rig], UNITS_M[rig]
    names = [n for n, _, _ in entries]
    index = {n: j for j, n in enumerate(names)}
    points: dict[str, np.ndarray] = {}
    for n, parent, place in entries:
        points[n] = _placed(n, place, points.get(parent), spec)
    ends = {}
    for n, _, place in _ENDS[rig]:
        ends[_end_name(n)] = _placed(_end_name(n), place, points[n], spec)
    parents_by_name = {n: p for n, p, _ in entries} | {_end_name(n): n for n, _, _ in _ENDS[rig]}
    every = points | ends

    def below(n: str, ancestor_words: tuple[str, ...]) -> bool:
        while n is not None:
            if any(w in n for w in ancestor_words):
                return True
            n = parents_by_name.get(n)
        return False

    legs = {n for n in every if below(n, ("UpLeg",))}
    shoulders = [n for n in every if n.endswith(("LeftArm", "RightArm"))]
    arms = {n: a for a in shoulders for n in every if n != a and below(n, (a,))}
    every = _stretched(every, rig, legs, arms)
    floor = min(p[1] for p in every.values())  # the soles on the floor, as files are written
    every = {n: p - np.array([0.0, floor, 0.0]) for n, p in every.items()}
    frames = {n: np.eye(3) for n in names}
    if rig == "lafan1":  # each joint's rest frame turns its first child's bone onto +X
        for n in names:
            kids = [k for k, p, _ in entries if p == n] or [_end_name(n)]
            frames[n] = quat_to_matrix(qbetween(np.array([1.0, 0.0, 0.0]), every[kids[0]] - every[n]))
    offsets = np.zeros((len(names), 3))
    for j, (n, parent, _) in enumerate(entries):
        if parent is None and rig in _ROOT_OFFSET_M:
            offsets[j] = every[n] + np.asarray(_ROOT_OFFSET_M[rig])
        elif parent is not None:
            offsets[j] = frames[parent].T @ (every[n] - every[parent])
    end_sites = {index[n]: frames[n].T @ (every[_end_name(n)] - every[n]) / unit for n, _, _ in _ENDS[rig]}
    offsets /= unit
    rotations = [f"{a}rotation" for a in _ROTATIONS[rig]]
    position = ["Xposition", "Yposition", "Zposition"]
    channels = [position + rotations if (p is None or rig == "lafan1") else list(rotations) for _, p, _ in entries]
    root = offsets[0] if rig in _ROOT_OFFSET_M else every[names[0]] / unit
    parents = [index[p] if p is not None else -1 for _, p, _ in entries]
    # The frame stands in the rig's T-pose: zero angles where the rest frames are the world's, and where they are
    # not (LAFAN1), the angles that turn each bone from its parent's X back to where the body has it.
    local = [frames[n] if p < 0 else frames[names[p]].T @ frames[n] for n, p in zip(names, parents)]
    columns = []
    for j, chans in enumerate(channels):
        euler = matrix_to_euler(local[j], _ROTATIONS[rig])  # degrees, in the channels' order
        columns += list(root if j == 0 else offsets[j]) if len(chans) == 6 else []
        columns += list(euler)
    values = np.asarray(columns, dtype=float)[None]
    return BVHClip(names, parents, offsets, channels, _FRAME_TIME[rig], values, f"{rig}.bvh", end_sites)


def rig_text(rig: str) -> str:
    """Rig ``rig`` as a BVH file, written the way its source writes files (CMU indents with tabs, Mixamo's
    exporter ends lines with CRLF)."""
    text = bvh_text(build_skeleton(rig))
    if rig == "cmu":
        text = "\n".join(ln.replace("  ", "\t") for ln in text.split("\n"))
    if rig == "mixamo":
        text = text.replace("\n", "\r\n")
    return text


RIGS = tuple(_JOINTS)
