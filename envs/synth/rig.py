"""A joint-angle rig over SMPL-22: families write angle tracks, the rig clamps, poses and grounds them."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from envs.motion.motion import Motion
from envs.quaternion import qfrom_axis_angle, qmul
from envs.skeleton import FOOT_CLEARANCE, JOINT_INDEX, SMPL22, euler_to_local_rotations, joint_limits_deg
from envs.synth.balance import balance_shift
from envs.synth.footwork import LEG_LENGTH, FootPlan, place_feet, pose_at_origin, sole_height

J = JOINT_INDEX
_SPINE = (("spine1", 0.3), ("spine2", 0.35), ("spine3", 0.35))
_LIMITS = joint_limits_deg()
_CARRYING = [J[j] for j in ("pelvis", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "l_foot", "r_foot")]
# Fastest joint rotation the rig lets through (deg/s); human gestures stay well below it, while
# abrupt (angry) motion keeps its sharp starts and stops.
MAX_ANGULAR_SPEED = 900.0
BALANCE_ROUNDS = 3  # lean, level the feet, re-read the ZMP (envs/synth/balance.py)
HIP_SHIFT_GAIN = 0.8  # centre of mass moved per metre the hips carry the pelvis sideways (the legs move less)


def other_side(side: str) -> str:
    return "r" if side == "l" else "l"


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
        self.feet: dict[str, FootPlan] = {}  # side -> where a gait puts that ankle (envs/synth/footwork.py), see build

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

    def bend(self, side: str, knee=0.0) -> None:
        """Knee flexion with the hip and the ankle turning half as much, so that the ankle stays under the hip.

        A knee bent alone swings the shank back: a planted foot then carries the pelvis ahead of it (rig.plant_feet),
        and synth-8's knee bounces (sway, step_touch) put the body 14-22 cm in front of its feet, the reference's
        ZMP off the soles. Thigh and shank are nearly equally long (0.38, 0.40 m), so half the knee's angle at hip
        and ankle keeps the pelvis above the feet as it goes down."""
        knee = np.asarray(knee)
        self.leg(side, flex=0.5 * knee, knee=knee, ankle=-0.5 * knee)

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

    def build(self, yaw0_deg: float = 0.0, plant_tolerance_m: float | None = None,
              swing_clearance_m: float | None = None, leg_smoothing_s: float | None = None,
              level_reach_m: float | None = None, balance_margin_m: float | None = None) -> tuple[Motion, float]:
        """Clamp to joint limits, pose by FK, put the lowest foot on the floor; returns (motion, clamp share).

        With ``leg_smoothing_s``, the joints that carry the body (pelvis, hips, knees, ankles) are smoothed by a
        Gaussian of that width: an emotion's sharpness squares off their waves too, and a planted body whose
        legs snap is thrown up and down (synth-8's step_touch: ZMP 1.5 m outside the feet). Arms, trunk and
        head keep it. With ``swing_clearance_m``, a gait's legs are solved for its foot plans (``self.feet``,
        :func:`~envs.synth.footwork.place_feet`), the swing foot at least that high at mid-swing; with
        ``level_reach_m``, feet on the floor stand flat (:func:`level_soles`); with ``plant_tolerance_m``, they do not
        slide (:func:`plant_feet`); with ``balance_margin_m``, a family that neither places its feet nor turns leans
        until its ZMP is that far inside them (:meth:`_balance`; a spin leaning as it turns slid its feet)."""
        clamped = np.clip(self.angles, _LIMITS[None, :, :, 0], _LIMITS[None, :, :, 1])
        clamp_share = float(np.mean(np.abs(clamped - self.angles) > 1e-6))
        clamped = _limit_rate(clamped, MAX_ANGULAR_SPEED / self.fps)
        if leg_smoothing_s:
            clamped[:, _CARRYING] = gaussian_filter1d(clamped[:, _CARRYING], leg_smoothing_s * self.fps, axis=0,
                                                      mode="nearest")
        if swing_clearance_m is not None and self.feet:
            place_feet(clamped, self.feet, swing_clearance_m, smooth_frames=(leg_smoothing_s or 0.0) * self.fps)
        if level_reach_m is not None:
            level_soles(clamped, level_reach_m)
        if balance_margin_m is not None and not self.feet and np.ptp(self.heading) == 0:
            self._balance(clamped, balance_margin_m, plant_tolerance_m, level_reach_m)
        pos, local = self._posed(clamped, yaw0_deg, plant_tolerance_m)
        return Motion(pos, local, self.fps), clamp_share

    def _balance(self, clamped: np.ndarray, margin_m: float, plant_tolerance_m: float | None,
                 level_reach_m: float | None) -> None:
        """Lean the body (angles in place) until its ZMP is ``margin_m`` inside its feet (envs/synth/balance.py):
        forward, the whole body about the ankles; sideways, both hips roll the same way, so the pelvis moves over the
        feet and the trunk stays upright (the weight shift of families.py's _weight_on)."""
        yaw = np.deg2rad(self.heading[0])
        axes = np.broadcast_to(np.array([[np.sin(yaw), 0.0, np.cos(yaw)], [np.cos(yaw), 0.0, -np.sin(yaw)]]),
                               (self.n, 2, 3))  # the body's forward and left
        for _ in range(BALANCE_ROUNDS):  # the lean moves the feet's levelling and the ZMP's height: re-read
            shift, com_height = balance_shift(self._posed(clamped, 0.0, plant_tolerance_m)[0], self.fps, axes, margin_m)
            lean = shift[:, 0] / np.maximum(com_height, 0.3)
            clamped[:, J["pelvis"], 0] += np.rad2deg(np.arcsin(np.clip(lean, -0.5, 0.5)))
            roll = np.rad2deg(np.arcsin(np.clip(shift[:, 1] / (HIP_SHIFT_GAIN * LEG_LENGTH), -0.5, 0.5)))
            clamped[:, [J["l_hip"], J["r_hip"]], 2] -= roll[:, None]
            if level_reach_m is not None:
                level_soles(clamped, level_reach_m)

    def _posed(self, clamped: np.ndarray, yaw0_deg: float,
               plant_tolerance_m: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Joint positions (T, 22, 3) and local rotations of the angle tracks: posed, turned by ``yaw0_deg``, the
        lowest foot on the floor, and with ``plant_tolerance_m`` the root moved by the feet on it."""
        local = euler_to_local_rotations(clamped)
        heading = qfrom_axis_angle(np.array([0.0, 1.0, 0.0]), np.deg2rad(self.heading + yaw0_deg))
        local[:, 0] = qmul(heading, local[:, 0])
        yaw0 = np.deg2rad(yaw0_deg)
        rot_path = np.stack([self.path[:, 0] * np.cos(yaw0) + self.path[:, 1] * np.sin(yaw0),
                             -self.path[:, 0] * np.sin(yaw0) + self.path[:, 1] * np.cos(yaw0)], -1)
        root = np.zeros((self.n, 3))
        root[:, 0], root[:, 2] = rot_path[:, 0], rot_path[:, 1]
        pos = SMPL22.forward(local, root)
        ground = -np.minimum(sole_height(pos, "l"), sole_height(pos, "r"))  # the lowest foot onto the floor
        pos[..., 1] += (ground + self.lift)[:, None]
        if plant_tolerance_m is not None:
            pos[..., [0, 2]] += plant_feet(pos, plant_tolerance_m)[:, None]
        return pos, local


_FOOT = SMPL22.offsets[J["l_foot"]]  # ankle to toe at rest
_REST_FOOT_PITCH = np.arctan2(_FOOT[1], np.hypot(_FOOT[0], _FOOT[2]))


def level_soles(angles: np.ndarray, reach_m: float, iterations: int = 2) -> None:
    """Turn the ankles (in place, degrees) so that feet on the floor stand flat, heel and toes down.

    A bent knee tips the foot onto its toes unless the ankle flexes back; synth-8's sway and dances stood
    with their heels 6 cm up, which a contact schedule reads as a step. A foot within ``reach_m`` of the
    lowest one is levelled in proportion to how close it is (1 on the floor, 0 at ``reach_m``), so that a
    swing foot keeps its own pitch and a foot coming down turns flat gradually."""
    for _ in range(iterations):
        pos = pose_at_origin(angles)
        heights = {side: sole_height(pos, side) for side in "lr"}
        lowest = np.minimum(heights["l"], heights["r"])
        for side in "lr":
            ankle, toe = J[f"{side}_ankle"], J[f"{side}_foot"]
            foot = pos[:, toe] - pos[:, ankle]
            pitch = np.arctan2(foot[:, 1], np.hypot(foot[:, 0], foot[:, 2]))
            weight = np.clip(1.0 - (heights[side] - lowest) / reach_m, 0.0, 1.0)
            angles[:, ankle, 0] = np.clip(angles[:, ankle, 0] + weight * np.rad2deg(pitch - _REST_FOOT_PITCH),
                                          *_LIMITS[ankle, 0])


def plant_feet(positions: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Root shift (T, 2), x and z, that stops the feet on the floor from sliding: the body moves by its feet.

    The angle tracks move the legs; where the root path and the legs disagree, a foot on the floor slides
    (synth-8's walk slid its stance foot up to 0.3 m/s and its squat both feet 13 cm forward: no floor can
    carry that). Each frame, the horizontal displacement of the feet on the floor is cancelled by moving the
    whole body the other way, so the root's travel is what the stance legs' motion gives. A foot counts as
    on the floor by its height above the flat-foot clearance, fully at 0 and fading out at ``tolerance_m``
    (a weight, so that touch-down and lift-off do not jerk the root); the cancelled share is the weight's,
    at most 1. Its contact point is the lower of ankle and toe (heel to toe roll). Airborne frames keep
    the authored path."""
    moved, weight = np.zeros((len(positions) - 1, 2)), np.zeros(len(positions) - 1)
    for side in "lr":
        ankle, toe = J[f"{side}_ankle"], J[f"{side}_foot"]
        on_floor = np.clip(1.0 - sole_height(positions, side) / tolerance_m, 0.0, 1.0)
        w = np.minimum(on_floor[:-1], on_floor[1:])  # only a foot down in both frames held the body (not a landing one)
        heel_lower = (positions[1:, ankle, 1] - FOOT_CLEARANCE[ankle]) <= (positions[1:, toe, 1] - FOOT_CLEARANCE[toe])
        heel_step, toe_step = (np.diff(positions[:, j][:, [0, 2]], axis=0) for j in (ankle, toe))
        step = np.where(heel_lower[:, None], heel_step, toe_step)  # the contact point: the lower of heel and toe
        moved += w[:, None] * step
        weight += w
    # a foot half on the floor holds the body half: no normalising a light touch into a full plant
    return np.concatenate([np.zeros((1, 2)), 0.0 - np.cumsum(moved / np.maximum(weight, 1.0)[:, None], axis=0)])


def _limit_rate(angles: np.ndarray, max_step: float) -> np.ndarray:
    """Follow the angle tracks with at most ``max_step`` degrees of change per frame."""
    out = angles.copy()
    for t in range(1, len(out)):
        out[t] = out[t - 1] + np.clip(angles[t] - out[t - 1], -max_step, max_step)
    return out
