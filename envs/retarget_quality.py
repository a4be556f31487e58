"""Is a retarget right? Checks that compare the SMPL-22 result with the source skeleton, so that a broken
joint map, a wrong up axis or a mirrored file shows instead of hiding behind a small position error.

The position error of a retarget only measures the IK against the mapped points; a map that puts the toe on
the knee, or a Z-up file read as Y-up, still solves to a few millimetres. So the report also measures:
  - bone directions: every SMPL bone but the feet against the same bone between the mapped source points
    (the feet are re-pitched on purpose by ``level_feet``, ~17 deg on Bandai, and checked next);
  - feet: the mapped foot (ankle -> ball points of the map) against the source skeleton's own foot segment
    (its ankle joint to that joint's child or End Site), the angle between foot and shin in the source,
    and how far ``level_feet`` had to re-pitch the foot (a large correction hides a wrong map, so it is
    reported rather than trusted);
  - the body: how far the spine leans from vertical (median over frames), whether hips and shoulders
    face the same way, and whether the legs bend forward of the hips' facing (knees bend forward, feet
    point forward; weighted by how clearly each frame shows it) rather than behind.
Each check past its threshold adds one sentence to ``problems``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envs.skeleton import JOINT_INDEX, PARENTS

# Thresholds (degrees), set against the 174 clips of Bandai dataset-1 with its map, none of which they flag
# (worst clip: bones 9.9 at the 95th percentile, the pelvis and chest triangles differing from SMPL's; feet as
# the skeleton's own, re-pitched by 41 at most; foot-shin 74 at least; spine 46 (bows); hips-shoulders 24;
# legs-hips 28), and
# against the broken maps of tests/test_joint_maps.py, which pass them by a wide margin.
BONE_P95_DEG = 25.0
FOOT_MAP_DEG = 45.0
FOOT_LEVELLING_DEG = 60.0
FOOT_SHIN_MIN_DEG = 30.0
SPINE_TILT_DEG = 60.0
FACING_DEG = 90.0
_FEET = (JOINT_INDEX["l_foot"], JOINT_INDEX["r_foot"])


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors (..., 3), stable at 0 and 180."""
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(u, v), axis=-1), np.sum(u * v, axis=-1)))


def _facing(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Horizontal forward direction (F, 3) of a left/right pair, Y up, SMPL's convention (left is +X of +Z)."""
    across = right - left
    fwd = np.cross(np.array([0.0, 1.0, 0.0]), across)
    fwd[:, 1] = 0.0
    return fwd


@dataclass
class RetargetQuality:
    bone_direction_error_deg: float  # median over bones and frames
    bone_direction_error_p95_deg: float
    per_bone_direction_error_deg: dict[str, float]  # median per SMPL bone, keyed by its child joint
    foot_direction_error_deg: dict[str, float]  # per side, median, mapped foot vs the skeleton's own; nan if unknown
    foot_levelling_deg: dict[str, float]  # per side, median re-pitch of the foot by level_feet
    foot_shin_angle_deg: dict[str, float]  # per side, median, in the mapped source
    spine_tilt_deg: float  # median angle of pelvis -> neck from vertical
    hips_shoulders_deg: float  # median angle between the hips' and the shoulders' facing
    legs_vs_hips_deg: float  # angle between where knees and feet point and where the hips face (weighted mean)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        r = lambda v: round(float(v), 2)  # noqa: E731
        return {"bone_direction_error_deg": {"median": r(self.bone_direction_error_deg), "p95": r(self.bone_direction_error_p95_deg)},
                "foot_direction_error_deg": {k: r(v) for k, v in self.foot_direction_error_deg.items()},
                "foot_levelling_deg": {k: r(v) for k, v in self.foot_levelling_deg.items()},
                "foot_shin_angle_deg": {k: r(v) for k, v in self.foot_shin_angle_deg.items()},
                "spine_tilt_deg": r(self.spine_tilt_deg), "hips_shoulders_deg": r(self.hips_shoulders_deg),
                "legs_vs_hips_deg": r(self.legs_vs_hips_deg), "problems": list(self.problems)}


def assess(result: np.ndarray, mapped: np.ndarray, source_feet: dict[str, tuple[str, np.ndarray] | None]) -> RetargetQuality:
    """Quality of SMPL-22 positions ``result`` (F, 22, 3) against the mapped source points ``mapped`` (F, 22, 3),
    both Y-up metres at the source frame rate. ``source_feet`` per side ('l', 'r'): (a label for messages,
    the source skeleton's own foot vectors (F, 3)) or None when the map places the ankle between joints."""
    child = np.arange(1, 22)
    bones = _angle(result[:, child] - result[:, list(PARENTS[1:])], mapped[:, child] - mapped[:, list(PARENTS[1:])])
    per_bone = {n: float(v) for n, v in zip((k for k in JOINT_INDEX if JOINT_INDEX[k] > 0), np.median(bones, axis=0))}
    body = bones[:, [c - 1 for c in child if c not in _FEET]]
    problems = []
    p95 = float(np.percentile(body, 95))
    if p95 > BONE_P95_DEG:
        worst = max((k for k in per_bone if JOINT_INDEX[k] not in _FEET), key=per_bone.get)
        problems.append(f"bone directions differ from the source by {p95:.0f} deg (95th percentile; worst bone ends at {worst})")
    foot_err, foot_level, foot_shin = {}, {}, {}
    for side in ("l", "r"):
        knee, ankle, ball = (JOINT_INDEX[f"{side}_{n}"] for n in ("knee", "ankle", "foot"))
        word = "left" if side == "l" else "right"
        foot = mapped[:, ball] - mapped[:, ankle]
        foot_shin[side] = float(np.median(_angle(mapped[:, knee] - mapped[:, ankle], foot)))
        if foot_shin[side] < FOOT_SHIN_MIN_DEG:
            problems.append(f"the {word} foot points up the shin ({foot_shin[side]:.0f} deg between them): "
                            f"is {side}_foot mapped to the toe (or the foot's End Site)?")
        foot_level[side] = float(np.median(_angle(result[:, ball] - result[:, ankle], foot)))
        if foot_level[side] > FOOT_LEVELLING_DEG:
            problems.append(f"the {word} foot had to be turned {foot_level[side]:.0f} deg to lie flat in stance: "
                            f"check {side}_ankle and {side}_foot in the map")
        src = source_feet.get(side)
        foot_err[side] = float(np.median(_angle(foot, src[1]))) if src is not None else float("nan")
        if src is not None and foot_err[side] > FOOT_MAP_DEG:
            problems.append(f"the {word} foot of the map points {foot_err[side]:.0f} deg away from the skeleton's "
                            f"own foot ({src[0]}): check {side}_ankle and {side}_foot in the map")
    up = result[:, JOINT_INDEX["neck"]] - result[:, JOINT_INDEX["pelvis"]]
    tilt = float(np.median(_angle(up, np.array([0.0, 1.0, 0.0]))))
    if tilt > SPINE_TILT_DEG:
        problems.append(f"the body lies down (spine {tilt:.0f} deg from vertical on median): wrong up axis? (--up-axis)")
    hips = _facing(result[:, JOINT_INDEX["l_hip"]], result[:, JOINT_INDEX["r_hip"]])
    shoulders = _facing(result[:, JOINT_INDEX["l_shoulder"]], result[:, JOINT_INDEX["r_shoulder"]])
    hs = float(np.median(_angle(hips, shoulders)))
    if hs > FACING_DEG:
        problems.append(f"hips and shoulders face {hs:.0f} deg apart: left and right swapped for the arms or for the legs?")
    # Knees bend forward and feet point forward: their horizontal sum, frame by frame, against the hips' facing.
    cue = np.zeros_like(hips)
    for s in "lr":
        hip, knee, ankle, ball = (result[:, JOINT_INDEX[f"{s}_{n}"]] for n in ("hip", "knee", "ankle", "foot"))
        cue += (knee - 0.5 * (hip + ankle)) + (ball - ankle)
    cue[:, 1] = 0.0
    facing = hips / np.maximum(np.linalg.norm(hips, axis=-1, keepdims=True), 1e-9)
    score = float(np.sum(cue * facing) / max(np.sum(np.linalg.norm(cue, axis=-1)), 1e-9))
    lh = float(np.degrees(np.arccos(np.clip(score, -1.0, 1.0))))
    if lh > FACING_DEG:
        problems.append(f"knees and feet point {lh:.0f} deg away from where the hips face: left and right swapped, or a mirrored file?")
    return RetargetQuality(float(np.median(body)), p95, per_bone, foot_err, foot_level, foot_shin, tilt, hs, lh, problems)
