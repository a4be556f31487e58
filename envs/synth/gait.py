"""Gaits of the procedural source: the legs' cycle (stance sweep, swing, push-off, carry) and the travelling
families built on it. The planted feet move the body (rig.plant_feet), so the cycle decides its speed."""
from __future__ import annotations

import numpy as np

from envs.synth.drive import Drive
from envs.synth.footwork import LEG_LENGTH, FootPlan  # LEG_LENGTH converts hip swing into stride
from envs.synth.rig import AngleRig

STANCE_ADDUCTION_DEG = 5.0  # of the hip at mid-stance: the pelvis moves 7 cm over the carrying foot
STANCE_SHARE = 0.6  # of a gait cycle a foot is on the floor (walking: about 60 %, so both are down twice for 10 %)


class LegCycle:
    """One leg's place in its gait cycle, per frame: on the floor (stance) or in the air (swing), and how far."""

    def __init__(self, d: Drive, freq: float, offset: float) -> None:
        cycle = np.mod(d.phase(freq) + offset, 2 * np.pi) / (2 * np.pi)
        self.on_floor = cycle < STANCE_SHARE
        self.u_stance = np.where(self.on_floor, cycle / STANCE_SHARE, 0.0)
        self.u_swing = np.where(self.on_floor, 0.0, (cycle - STANCE_SHARE) / (1 - STANCE_SHARE))

    def angles(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Hip swing in [-1, 1], swing lift, push-off and carry (mid-stance) in [0, 1]: the angle gait, which starts
        the legs' solve (envs/synth/footwork.py) and is the gait when feet are not placed.

        On the floor the hip sweeps back at a constant rate, so the body keeps its speed through the step; in the
        air the leg swings forward, smoothly from rest to rest, with the lift as a half sine."""
        swing = np.where(self.on_floor, 1 - 2 * self.u_stance, -np.cos(np.pi * self.u_swing))
        return swing, self.lift(), self.push(), self.carry()

    def lift(self) -> np.ndarray:
        return np.where(self.on_floor, 0.0, np.sin(np.pi * self.u_swing))

    def push(self) -> np.ndarray:
        return np.where(self.on_floor, np.clip((self.u_stance - 0.7) / 0.3, 0, 1), 0.0) ** 2

    def carry(self) -> np.ndarray:
        return np.where(self.on_floor, np.sin(np.pi * self.u_stance), 0.0)

    def forward(self, step_m: float) -> np.ndarray:
        """The ankle ahead of its place under the hip (m): planted, it sweeps back ``step_m`` at the body's constant
        speed; in the air it travels forward on a cubic whose ends keep that speed, so a foot lifts off and lands
        at rest on the floor rather than skidding."""
        u = self.u_swing
        end_slope = -step_m * (1 - STANCE_SHARE) / STANCE_SHARE  # d(forward)/du of the stance sweep, in swing time
        h00, h10, h01, h11 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2
        swing = -0.5 * step_m * h00 + 0.5 * step_m * h01 + end_slope * (h10 + h11)
        return np.where(self.on_floor, step_m * (0.5 - self.u_stance), swing)


MAX_STEP_HIP_DEG = 20.0  # a planted leg sweeps at most this far either side of vertical (the hip extends to 30)
SWAY_M = 0.03  # the body's shift over the foot that carries it, at mid-stance
SHANK_M = 0.40  # knee to ankle: turns a family's swing-knee bend into the swing foot's clearance
# The clearance's knee bend at most (a happy run asks 97 degrees: an ankle 0.5 m up, that came down 0.27 m in the
# last 20 fps frame of its swing)
MAX_LIFT_KNEE_DEG = 60.0


def _gait(r: AngleRig, d: Drive, freq: float, hip: float, knee: float, arm: float, direction: float = 0.0,
          lean: float = 0.0, crouch: float = 0.0, turn_deg_s: float = 0.0, travel: bool = True) -> None:
    a = d.amp
    hip_amp = hip * a
    step_m = 2 * LEG_LENGTH * np.sin(np.deg2rad(min(hip_amp, MAX_STEP_HIP_DEG)))
    offsets = {"l": 0.0, "r": np.pi}
    cycles = {side: LegCycle(d, freq, off) for side, off in offsets.items()}
    sway = SWAY_M * (cycles["l"].carry() - cycles["r"].carry())  # + : the body over the left foot
    for side, cycle in cycles.items():
        off = offsets[side]
        swing, lift, push, carry = cycle.angles()
        swing_knee = knee * a + 6 * d.cue.bounce
        # The stance hip adducts towards mid-stance: the planted body shifts over the foot that carries it.
        r.leg(side, flex=hip_amp * swing + crouch, abd=-STANCE_ADDUCTION_DEG * carry,
              knee=swing_knee * lift + 2 * crouch + 4, ankle=-crouch * 0.6 + 6 * d.cue.bounce * push)
        r.arm(side, flex=-arm * a * d.wave(freq, off), abd=8 * d.cue.arm_spread,
              elbow=15 + 12 * a * d.pulse(freq, off + np.pi / 2))
        r.feet[side] = FootPlan(forward=cycle.forward(step_m), lateral=-sway, lift=lift, on_floor=cycle.on_floor,
                                clearance_m=SHANK_M * (1 - np.cos(np.deg2rad(min(swing_knee, MAX_LIFT_KNEE_DEG)))),
                                reach=float(np.cos(np.deg2rad(2 + crouch))))
    r.spine(flex=lean, twist=5 * a * d.wave(freq))
    r.heading += turn_deg_s * d.tempo * d.clock
    if travel:
        r.advance(step_m * freq * d.tempo / STANCE_SHARE, direction)


def walk(r, d):
    _gait(r, d, 0.9, hip=22, knee=35, arm=18)


def run(r, d):
    _gait(r, d, 1.4, hip=35, knee=70, arm=35, lean=8)
    r.arm("l", elbow=60); r.arm("r", elbow=60)


def cartoon_walk(r, d):
    _gait(r, d, 1.0, hip=30, knee=55, arm=40)
    r.head(roll=10 * d.amp * d.wave(1.0))


def sneak(r, d):
    _gait(r, d, 0.6, hip=16, knee=30, arm=8, crouch=25, lean=15)
    r.arm("l", flex=30, elbow=70); r.arm("r", flex=30, elbow=70)


def tiptoe(r, d):
    _gait(r, d, 1.1, hip=12, knee=20, arm=10)
    for side in "lr":
        r.leg(side, ankle=25)
        r.arm(side, abd=35 * d.cue.arm_spread, elbow=60)
