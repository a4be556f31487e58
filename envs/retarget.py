"""Retarget any BVH skeleton onto SMPL-22: joint map, units and up axis, bone-length normalisation, position
IK, and a quality report that compares the result with the source (envs.retarget_quality)."""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from envs.io.bvh import BVHClip
from envs.io.bvh_units import BodyFrame
from envs.joint_map import BANDAI_JOINT_MAP, JointMap, JointMapError
from envs.motion.motion import CANONICAL_FPS, Motion
from envs.quaternion import qfrom_axis_angle, qrot
from envs.retarget_quality import RetargetQuality, assess
from envs.skeleton import JOINT_INDEX, SMPL22, Skeleton, ground_offset

log = logging.getLogger(__name__)
__all__ = ["BANDAI_JOINT_MAP", "JointMap", "JointMapError", "RetargetResult", "level_feet", "retarget"]


@dataclass
class RetargetResult:
    motion: Motion  # at the requested fps
    mean_error_m: float  # mean joint position error vs the bone-length-normalised source
    max_joint_error_m: float  # worst joint, averaged over frames
    per_joint_error_m: np.ndarray  # (22,)
    source_fps: float
    body_frame: BodyFrame | None = None  # the unit and up axis the file was read with
    quality: RetargetQuality | None = None

    def report(self) -> dict:
        """A JSON-ready summary: errors, how the file was read, and the quality checks."""
        out = {"retarget_error_cm": round(self.mean_error_m * 100, 3), "worst_joint_error_cm": round(self.max_joint_error_m * 100, 3),
               "source_fps": self.source_fps, "frames": self.motion.num_frames, "fps": self.motion.fps}
        if self.body_frame is not None:
            out["read_as"] = self.body_frame.summary()
        if self.quality is not None:
            out["quality"] = self.quality.summary()
        return out


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


def _source_feet(clip: BVHClip, joint_map: JointMap, points: np.ndarray, names: list[str]) -> dict:
    """Per side, the source skeleton's own foot: its ankle joint (as mapped) to that joint's child or End Site."""
    index = {n: i for i, n in enumerate(names)}
    ends = clip.end_site_names
    feet = {}
    for side in ("l", "r"):
        ankle = joint_map.source_joint(f"{side}_ankle")
        if ankle is None or ankle not in clip.names:
            feet[side] = None
            continue
        j = clip.names.index(ankle)
        kids = [clip.names[k] for k, p in enumerate(clip.parents) if p == j] + ([ends[j]] if j in ends else [])
        toe = joint_map.entries[f"{side}_foot"]
        toe = toe if isinstance(toe, str) else toe[0]
        kids = [k for k in kids if np.median(np.linalg.norm(points[:, index[k]] - points[:, index[ankle]], axis=-1)) > 1e-3]
        if not kids:
            feet[side] = None
            continue
        pick = toe if toe in kids else kids[0]
        feet[side] = (f"{ankle} -> {pick}", points[:, index[pick]] - points[:, index[ankle]])
    return feet


def retarget(clip: BVHClip, joint_map: JointMap, skeleton: Skeleton = SMPL22, fps: float = CANONICAL_FPS,
             units: str | float | None = None, up_axis: str | None = None, flatten_feet: bool = True) -> RetargetResult:
    """Retarget a BVH clip: read it in Y-up metres (``units``/``up_axis``, else the map's, else detected), map
    joints, rescale bones to ``skeleton``, level the feet, solve IK, check the result, resample to ``fps``."""
    units = units if units is not None else (joint_map.units or "auto")
    up_axis = up_axis if up_axis is not None else (joint_map.up_axis or "auto")
    names = clip.point_names()
    joint_map.check_names(names, clip.source)
    frame = clip.body_frame(units, up_axis)
    points = clip.global_positions(units, up_axis, end_sites=True)
    src = joint_map.apply(names, points, clip.source)
    target = skeleton.normalise_bone_lengths(src)
    if flatten_feet:
        target = level_feet(target, skeleton)
    rotations = skeleton.inverse(target)
    reached = skeleton.forward(rotations, target[:, 0])
    err = np.linalg.norm(reached - target, axis=-1)  # (F, 22)
    per_joint = err.mean(axis=0)
    quality = assess(reached, src, _source_feet(clip, joint_map, points, names))
    for problem in quality.problems:
        log.warning("%s: retarget with %s: %s", clip.source, joint_map.source, problem)
    motion = Motion(reached, rotations, clip.fps)
    # Rest the lowest foot of the clip on the floor (the capture's floor offset is arbitrary).
    motion.positions[..., 1] += ground_offset(motion.positions)
    motion = motion.resample(fps, skeleton)
    return RetargetResult(motion, float(err.mean()), float(per_joint.max()), per_joint, clip.fps, frame, quality)
