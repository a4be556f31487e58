"""Gaits of the procedural source: the legs' cycle (stance sweep, swing, push-off, carry) and the travelling
families built on it. The planted feet move the body (rig.plant_feet), so the cycle decides its speed."""
from __future__ import annotations

import numpy as np

from envs.synth.drive import Drive
from envs.synth.rig import AngleRig

LEG_LENGTH = 0.80  # hip to ankle of the SMPL template (m); converts hip swing into stride speed


def _stride_speed(d: Drive, freq: float, hip_amp_deg: float) -> float:
    """Mean root speed of a gait: two steps of 2 L sin(A) per cycle, so the stance foot does not drift."""
    return 4 * LEG_LENGTH * np.sin(np.deg2rad(hip_amp_deg)) * freq * d.tempo


STANCE_ADDUCTION_DEG = 5.0  # of the hip at mid-stance: the pelvis moves 7 cm over the carrying foot
STANCE_SHARE = 0.6  # of a gait cycle a foot is on the floor (walking: about 60 %, so both are down twice for 10 %)


def _leg_cycle(d: Drive, freq: float, offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One leg's gait cycle: hip swing in [-1, 1], swing lift, push-off and carry (mid-stance) in [0, 1].

    The legs carry the body, whose mass cannot snap, so the cycle ignores the emotion's sharpness. On the
    floor the hip sweeps back at a constant rate, so the body, which the planted foot moves (rig.plant_feet),
    keeps its speed through the step; a sinusoidal sweep stopped it twice a cycle (ZMP metres outside the
    feet). In the air the leg swings forward, smoothly from rest to rest, with the lift as a half sine."""
    cycle = np.mod(d.phase(freq) + offset, 2 * np.pi) / (2 * np.pi)
    on_floor = cycle < STANCE_SHARE
    u_stance = cycle / STANCE_SHARE
    u_swing = (cycle - STANCE_SHARE) / (1 - STANCE_SHARE)
    swing = np.where(on_floor, 1 - 2 * u_stance, -np.cos(np.pi * u_swing))
    lift = np.where(on_floor, 0.0, np.sin(np.pi * u_swing))
    push = np.where(on_floor, np.clip((u_stance - 0.7) / 0.3, 0, 1), 0.0) ** 2
    carry = np.where(on_floor, np.sin(np.pi * u_stance), 0.0)
    return swing, lift, push, carry


def _gait(r: AngleRig, d: Drive, freq: float, hip: float, knee: float, arm: float, direction: float = 0.0,
          lean: float = 0.0, crouch: float = 0.0, turn_deg_s: float = 0.0, travel: bool = True) -> None:
    a = d.amp
    hip_amp = hip * a
    for side, off in (("l", 0.0), ("r", np.pi)):
        swing, lift, push, carry = _leg_cycle(d, freq, off)
        # The stance hip adducts towards mid-stance: the planted body shifts over the foot that carries it.
        r.leg(side, flex=hip_amp * swing + crouch, abd=-STANCE_ADDUCTION_DEG * carry,
              knee=knee * a * lift + 2 * crouch + 4 + 6 * d.cue.bounce * lift,
              ankle=-crouch * 0.6 + 6 * d.cue.bounce * push)
        r.arm(side, flex=-arm * a * d.wave(freq, off), abd=8 * d.cue.arm_spread,
              elbow=15 + 12 * a * d.pulse(freq, off + np.pi / 2))
        r.swing[side] = lift  # the swing foot clears the floor from lift-off to touch-down
    r.spine(flex=lean, twist=5 * a * d.wave(freq))
    r.heading += turn_deg_s * d.tempo * d.clock
    if travel:
        r.advance(_stride_speed(d, freq, hip_amp), direction)


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
