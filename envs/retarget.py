"""Retarget any BVH skeleton onto SMPL-22: joint-name map, bone-length normalisation, position IK."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from envs.io.bvh import BVHClip
from envs.motion.motion import CANONICAL_FPS, Motion
from envs.quaternion import qfrom_axis_angle, qrot
from envs.skeleton import JOINT_INDEX, JOINT_NAMES, SMPL22, Skeleton, ground_offset

# SMPL joint -> source joint name, or [a, b, t] for a point a + t (b - a) between two source joints.
# Bandai's Hips joint sits only ~2 cm above the hip joints and its Chest below the shoulder girdle;
# SMPL's pelvis sits ~9 cm above the hips. Moving pelvis and spine3 up their spine segments matches
# SMPL's branch geometry (retarget error 2.0 -> 0.55 cm median on dataset-1).
BANDAI_JOINT_MAP: dict[str, str | list] = {
    "pelvis": ["Hips", "Spine", 0.35], "l_hip": "UpperLeg_L", "r_hip": "UpperLeg_R", "spine1": "Spine",
    "l_knee": "LowerLeg_L", "r_knee": "LowerLeg_R", "spine2": ["Spine", "Chest", 0.5],
    "l_ankle": "Foot_L", "r_ankle": "Foot_R", "spine3": ["Chest", "Neck", 0.25], "l_foot": "Toes_L", "r_foot": "Toes_R",
    "neck": "Neck", "l_collar": "Shoulder_L", "r_collar": "Shoulder_R", "head": "Head",
    "l_shoulder": "UpperArm_L", "r_shoulder": "UpperArm_R", "l_elbow": "LowerArm_L",
    "r_elbow": "LowerArm_R", "l_wrist": "Hand_L", "r_wrist": "Hand_R",
}


@dataclass
class JointMap:
    """Where each SMPL-22 joint lies on a source skeleton."""

    entries: dict[str, str | list]

    def __post_init__(self) -> None:
        missing = [n for n in JOINT_NAMES if n not in self.entries]
        unknown = [n for n in self.entries if n not in JOINT_NAMES]
        if missing or unknown:
            raise ValueError(f"joint map: missing SMPL joints {missing}, unknown keys {unknown}")

    @classmethod
    def bandai(cls) -> "JointMap":
        return cls(dict(BANDAI_JOINT_MAP))

    @classmethod
    def from_yaml(cls, path: str | Path) -> "JointMap":
        data = yaml.safe_load(Path(path).read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a joint map is a mapping of SMPL joint name -> source joint name")
        return cls(data)

    def apply(self, names: list[str], positions: np.ndarray, source: str = "") -> np.ndarray:
        """Source positions (F, Js, 3) -> SMPL-22 positions (F, 22, 3)."""
        index = {n: i for i, n in enumerate(names)}

        def lookup(name: str) -> np.ndarray:
            if name not in index:
                raise ValueError(f"{source}: joint {name!r} from the joint map is not in the skeleton")
            return positions[:, index[name]]

        out = np.empty((positions.shape[0], len(JOINT_NAMES), 3))
        for j, smpl in enumerate(JOINT_NAMES):
            spec = self.entries[smpl]
            if isinstance(spec, str):
                out[:, j] = lookup(spec)
            else:
                a, b, t = spec
                out[:, j] = lookup(a) + float(t) * (lookup(b) - lookup(a))
        return out


@dataclass
class RetargetResult:
    motion: Motion  # at the requested fps
    mean_error_m: float  # mean joint position error vs the bone-length-normalised source
    max_joint_error_m: float  # worst joint, averaged over frames
    per_joint_error_m: np.ndarray  # (22,)
    source_fps: float


def level_feet(positions: np.ndarray, skeleton: Skeleton = SMPL22) -> np.ndarray:
    """Re-pitch each foot (ankle -> ball) so that in stance it lies as in the skeleton's rest pose.

    Capture skeletons place the ankle and ball joints differently from SMPL; keeping the source's foot
    direction then leaves the heel raised or sunk when the foot is planted, which a physical foot
    cannot do. The pitch offset is measured over the clip's stance frames (the lowest fifth of each
    ball joint's heights) and removed from every frame, a rest-pose calibration.
    """
    out = positions.copy()
    up = np.array([0.0, 1.0, 0.0])
    for side in ("l", "r"):
        a, t = JOINT_INDEX[f"{side}_ankle"], JOINT_INDEX[f"{side}_foot"]
        rest = skeleton.offsets[t]
        rest_pitch = np.arctan2(-rest[1], np.hypot(rest[0], rest[2]))
        v = out[:, t] - out[:, a]
        pitch = np.arctan2(-v[:, 1], np.hypot(v[:, 0], v[:, 2]))
        stance = out[:, t, 1] <= np.quantile(out[:, t, 1], 0.2)
        delta = float(np.median(pitch[stance]) - rest_pitch)
        axis = np.cross(up, v)  # horizontal, normal to the foot: rotating about it changes the pitch
        axis /= np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-9)
        rot = qfrom_axis_angle(axis, np.full(len(v), -delta))  # a positive angle would pitch it down
        out[:, t] = out[:, a] + qrot(rot, v)
    return out


def retarget(clip: BVHClip, joint_map: JointMap, skeleton: Skeleton = SMPL22,
             fps: float = CANONICAL_FPS, units: str = "auto", flatten_feet: bool = True) -> RetargetResult:
    """Retarget a BVH clip: map joints, rescale bones to ``skeleton``, level the feet, solve IK, resample."""
    src = joint_map.apply(clip.names, clip.global_positions(units), clip.source)
    target = skeleton.normalise_bone_lengths(src)
    if flatten_feet:
        target = level_feet(target, skeleton)
    rotations = skeleton.inverse(target)
    reached = skeleton.forward(rotations, target[:, 0])
    err = np.linalg.norm(reached - target, axis=-1)  # (F, 22)
    per_joint = err.mean(axis=0)
    motion = Motion(reached, rotations, clip.fps)
    # Rest the lowest foot of the clip on the floor (the capture's floor offset is arbitrary).
    motion.positions[..., 1] += ground_offset(motion.positions)
    motion = motion.resample(fps, skeleton)
    return RetargetResult(motion, float(err.mean()), float(per_joint.max()), per_joint, clip.fps)
