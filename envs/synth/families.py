"""Motion families of the procedural source. Each writes joint-angle tracks for one emotion's cues.

Every family receives a :class:`Drive` (clock, cues, randomness) and an :class:`AngleRig`. Cycles run
on the emotion's tempo; amplitudes scale with its amplitude; ``Drive.wave`` sharpens with its
sharpness (higher jerk) and stalls with its hesitation. Posture cues (lean, head, shoulders, chest,
fidget) are added once for all families by :func:`apply_posture`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from envs.synth.drive import Drive
from envs.synth.gait import cartoon_walk, run, sneak, tiptoe, walk
from envs.synth.rig import AngleRig, other_side

WEIGHT_SHIFT_DEG = 7.0  # hip roll that carries the pelvis 10 cm sideways, over one foot


def step_touch(r, d):
    side_sway = d.smooth(0.8)
    r.path[:, 0] += 0.18 * d.amp * side_sway
    for side, s in (("l", 1), ("r", -1)):
        r.leg(side, abd=10 * d.amp * np.clip(s * side_sway, 0, None))
        r.bend(side, 10 + 15 * d.pulse(1.6))
        r.arm(side, flex=40 * d.amp * d.pulse(0.8, 0 if s > 0 else np.pi), abd=30 * d.cue.arm_spread, elbow=50)
    r.spine(lateral=6 * d.amp * side_sway)


def wave(r, d):
    side = d.rng.choice(["l", "r"])
    up = d.ramp(0.6)
    r.arm(side, flex=20 * up, abd=(120 * d.cue.arm_spread) * up, elbow=70 * up + 20 * d.amp * d.wave(1.8) * up)
    other = other_side(side)
    r.arm(other, abd=8, elbow=15)
    r.head(yaw=(10 if side == "l" else -10))


def arm_wave(r, d):
    for side, off in (("l", 0.0), ("r", 1.2)):
        r.arm(side, abd=90 * d.cue.arm_spread + 25 * d.amp * d.wave(0.7, off), elbow=30 + 30 * d.amp * d.pulse(0.7, off + 1))
    r.spine(lateral=8 * d.amp * d.wave(0.7))
    r.bend("l", 8 + 10 * d.pulse(1.4)); r.bend("r", 8 + 10 * d.pulse(1.4, np.pi))


def bow(r, d):
    depth = 40 * d.amp * d.pulse(0.35, -np.pi / 2)
    r.spine(flex=depth)
    r.head(pitch=0.3 * depth)
    for side in "lr":
        r.leg(side, flex=0.3 * depth)
        r.arm(side, flex=0.3 * depth, abd=6, elbow=10)


def take_bow(r, d):
    depth = 55 * d.amp * d.pulse(0.3, -np.pi / 2)
    r.spine(flex=depth)
    r.leg("l", flex=0.4 * depth); r.leg("r", flex=0.3 * depth, knee=0.3 * depth)
    r.arm("r", flex=0.8 * depth, abd=20, elbow=60)  # hand to chest
    r.arm("l", abd=30 * d.cue.arm_spread + depth, elbow=10)  # arm swept out


def reach_up(r, d):
    up = 0.5 - 0.5 * np.cos(d.phase(0.3))
    side = d.rng.choice(["l", "r", "both"])
    for s in ("l", "r"):
        active = side in (s, "both")
        r.arm(s, flex=(150 * d.amp * up) if active else 0, abd=10 * d.cue.arm_spread, elbow=20 * (1 - up) if active else 15)
        r.leg(s, ankle=15 * up * d.amp)
    r.spine(flex=-8 * up)
    r.head(pitch=-20 * up)


def present(r, d):
    side = d.rng.choice(["l", "r"])
    out = d.ramp(0.8) * (0.8 + 0.2 * d.wave(0.4))
    r.arm(side, abd=(75 * d.cue.arm_spread) * out, front=45 * out, elbow=20)
    r.spine(twist=(-15 if side == "l" else 15) * out * d.amp)
    r.head(yaw=(25 if side == "l" else -25) * out)
    r.arm(other_side(side), abd=8, elbow=20)


def point(r, d):
    side = d.rng.choice(["l", "r"])
    out = d.pulse(0.4)
    r.arm(side, flex=85 * out * d.amp, abd=15 * d.cue.arm_spread, elbow=5)
    r.spine(flex=8 * out, twist=(10 if side == "l" else -10) * out)
    r.arm(other_side(side), abd=8, elbow=15)


def clap(r, d):
    c = d.pulse(1.8)
    for side in "lr":
        r.arm(side, flex=55, abd=30 * d.cue.arm_spread * (1 - c), elbow=70, twist=60)
    r.head(pitch=-5 * c)


def _split_stance(r: AngleRig) -> None:
    """Left foot 23 cm ahead of the right, both soles flat on the floor (a fighter's or thrower's stance)."""
    r.leg("l", flex=20, knee=30, ankle=-10); r.leg("r", flex=-10, knee=5, ankle=-15)


def _weight_on(r: AngleRig, side: str, share) -> None:
    """Shift the pelvis over one foot, both feet staying where they are (the hips turn like a parallelogram):
    a leg can only leave the floor once the body is over the other."""
    r.leg(side, abd=-WEIGHT_SHIFT_DEG * np.asarray(share))
    r.leg(other_side(side), abd=WEIGHT_SHIFT_DEG * np.asarray(share))


def punch(r, d):
    for side, off in (("l", 0.0), ("r", np.pi)):
        hit = d.pulse(1.0, off)
        r.arm(side, flex=30 + 55 * d.amp * hit, abd=10 * d.cue.arm_spread, elbow=110 * (1 - hit) + 5)
    r.spine(twist=18 * d.amp * d.wave(1.0), flex=6)
    _split_stance(r)


def kick(r, d):
    side = d.rng.choice(["l", "r"])
    stance = other_side(side)
    k = np.clip(d.smooth(0.6), 0, None) ** 0.7  # smooth: the whole body swings with the leg
    _weight_on(r, stance, d.ramp(0.5))
    r.leg(side, flex=75 * d.amp * k, knee=70 * (1 - k) * (k > 0.05))
    for leg in "lr":
        r.bend(leg, 10)  # both knees soft: the kicking foot comes back to the floor level with the other
    r.spine(flex=-10 * k)
    for s in "lr":
        r.arm(s, abd=35 * d.cue.arm_spread, elbow=40)


THIGH_M, SHANK_M = 0.38, 0.40  # the skeleton's (rig.bend)
# Peak downward acceleration a squat's pelvis may ask for, in the raised-cosine model of squat_pace (m/s^2).
# At the emotions' own pace happy, angry and energetic squats dropped the pelvis 0.5 m in ~0.35 s: 9.7-13.7 m/s^2
# measured (docs/experiments/squat_physics.py), more than g (the floor would have to pull the feet down), and 11 of
# those 12 clips (variations 0, 1, 8, 9) lost the track unassisted, against none of the other emotions' 20 (at most
# 6.5 m/s^2; RESULTS.md). 7.0 in the model keeps the neutral squat's pace (~6.9 in the model) and slows the faster
# ones to it (at most 6.0 measured now).
SQUAT_MAX_DESCENT_ACC = 7.0


def squat_pace(amp: float, tempo: float) -> float:
    """The share of the emotion's tempo a squat of depth ``amp`` goes at: 1, or less where its pelvis would
    accelerate downwards faster than ``SQUAT_MAX_DESCENT_ACC``. The pelvis drops by the thighs turning 80 degrees
    (and the shanks 30) per unit of ``amp``, as a raised cosine over a quarter of the squat's period (f = 0.5 Hz at
    tempo 1): over T = 1 / (4 f) a peak acceleration of drop (pi / T)^2 / 2 = 8 pi^2 f^2 drop."""
    drop = THIGH_M * (1 - np.cos(np.radians(80 * amp))) + SHANK_M * (1 - np.cos(np.radians(30 * amp)))
    freq = 0.5 * tempo
    peak = 8 * np.pi ** 2 * freq ** 2 * drop
    return float(min(1.0, np.sqrt(SQUAT_MAX_DESCENT_ACC / max(peak, 1e-9))))


def squat_depth(amp: float) -> float:
    """A squat's depth: the emotion's amplitude, but the hips (115 degrees of flexion per unit) no further than
    their range. Beyond it the rig clamped the hips while the knees went on, and the deep squats of happy, angry
    and energetic clips lost their balance unassisted even at a pace gravity allows (RESULTS.md)."""
    from envs.skeleton import JOINT_INDEX, joint_limits_deg

    hip_flex_max = -float(joint_limits_deg()[JOINT_INDEX["l_hip"], 0, 0])  # rig.leg: flexion is -x
    return min(amp, hip_flex_max / 115.0)


def squat(r, d):
    # The whole body goes down and up (smooth: its mass cannot snap), within the hips' range (squat_depth) and no
    # faster than gravity allows (squat_pace). The feet stay planted, so the hips go back; the pelvis tips forward
    # and the arms reach out to keep the centre of mass over the feet.
    depth = squat_depth(d.amp)
    q = np.clip(d.smooth(0.5 * squat_pace(depth, d.tempo), -np.pi / 2), 0, None) * depth
    r.add("pelvis", x=35 * q)
    for side in "lr":
        r.leg(side, flex=115 * q, knee=110 * q, ankle=-30 * q)  # thighs 80 deg up in the world
        r.arm(side, flex=80 * q, abd=10, elbow=10)
    r.spine(flex=10 * q)


def sway(r, d):
    s = d.smooth(0.6)
    r.spine(lateral=10 * d.amp * s, twist=6 * d.amp * d.wave(0.6, 1.0))
    r.path[:, 0] += 0.06 * d.amp * s
    for side, sg in (("l", 1), ("r", -1)):
        r.leg(side, abd=4 * sg * s)
        r.bend(side, 10 + 12 * d.pulse(1.2))  # both knees bounce: the feet stay down
        r.arm(side, abd=50 * d.cue.arm_spread + 20 * d.amp * sg * s, elbow=45)
    r.head(roll=-6 * s)


def spin(r, d):
    r.heading += 360 * 0.35 * d.tempo * d.clock
    for side in "lr":
        r.arm(side, abd=80 * d.cue.arm_spread, elbow=20)
        # the knee alone, not rig.bend: bent over the feet while the heading turns, spin tracked 0 of 24 (18 so)
        r.leg(side, knee=10 + 15 * d.pulse(1.4, 0 if side == "l" else np.pi), ankle=10)


def _flight(r: AngleRig, d: Drive, freq: float, height: float) -> np.ndarray:
    """Ballistic hops: returns the airborne share in [0, 1] and writes the lift (crouch before take-off)."""
    ph = np.mod(d.phase(freq), 2 * np.pi) / (2 * np.pi)
    air = np.clip(np.sin(np.pi * (ph - 0.45) / 0.4), 0, None) * ((ph > 0.45) & (ph < 0.85))
    r.lift += height * d.amp * air
    return air


def jump(r, d):
    air = _flight(r, d, 0.7, 0.25)
    crouch = np.clip(np.sin(2 * np.pi * (np.mod(d.phase(0.7), 2 * np.pi) / (2 * np.pi) - 0.2) / 0.5), 0, None) * (1 - air)
    for side in "lr":
        r.leg(side, flex=50 * crouch * d.amp, knee=80 * crouch * d.amp, ankle=-20 * crouch + 20 * air)
        r.arm(side, flex=-30 * crouch + 150 * air * d.amp, abd=10, elbow=20)
    r.spine(flex=25 * crouch)


def star_jump(r, d):
    air = _flight(r, d, 0.9, 0.18)
    for side in "lr":
        r.leg(side, abd=25 * air * d.amp, knee=15 * (1 - air), ankle=20 * air)
        r.arm(side, abd=20 + 140 * air * d.amp * d.cue.arm_spread, elbow=10)


def spin_jump(r, d):
    freq = 0.5
    air = _flight(r, d, freq, 0.3)
    # Half a turn per hop, spread over the airborne frames (the mean of the flight bump is 2/pi).
    frames_airborne_per_hop = 0.4 * (2 / np.pi) / (freq * d.tempo) / (d.t[1] - d.t[0])
    r.heading += 180 * np.cumsum(air) / frames_airborne_per_hop
    for side in "lr":
        r.arm(side, flex=60 * air, abd=20, elbow=90 * air)
        r.leg(side, knee=20 + 40 * (1 - air), flex=20 * (1 - air))


def dodge(r, d):
    s = d.smooth(0.6)
    r.path[:, 0] += 0.35 * d.amp * s
    for side, sg in (("l", 1), ("r", -1)):
        r.leg(side, abd=18 * d.amp * np.clip(sg * s, 0, None))
        r.bend(side, 25 + 25 * np.clip(-sg * s, 0, None))
        r.arm(side, flex=40, abd=25 * d.cue.arm_spread, elbow=80)
    r.spine(flex=15, lateral=-12 * d.amp * s)


def throw(r, d):
    side = d.rng.choice(["l", "r"])
    wind = d.wave(0.5)
    sg = 1 if side == "l" else -1
    r.arm(side, flex=60 * d.amp * wind + 60, abd=60 * d.cue.arm_spread, elbow=70 * np.clip(-wind, 0, None) + 10)
    r.spine(twist=sg * 25 * d.amp * wind, flex=10 * np.clip(wind, 0, None))
    _split_stance(r)


def stretch(r, d):
    up = d.ramp(1.0)
    s = d.wave(0.25)
    for side in "lr":
        r.arm(side, flex=165 * up, abd=10, elbow=10)
    r.spine(lateral=18 * d.amp * s * up, flex=-5 * up)
    r.leg("l", ankle=10 * up); r.leg("r", ankle=10 * up)


def look_around(r, d):
    r.head(yaw=55 * d.amp * d.wave(0.3), pitch=-5)
    r.spine(twist=20 * d.amp * d.wave(0.3, -0.4))
    for side in "lr":
        r.arm(side, abd=10, elbow=20)


def drum(r, d):
    for side, off in (("l", 0.0), ("r", np.pi)):
        hit = d.pulse(1.6, off)
        r.arm(side, abd=40 * d.cue.arm_spread, front=40, flex=10 + 15 * d.amp * hit, elbow=95 - 45 * d.amp * hit)
    r.spine(flex=10)
    r.head(pitch=5 * d.wave(0.8))
    for side in "lr":
        r.leg(side, flex=10, knee=15)


def strum(r, d):
    r.arm("l", abd=60, front=45, elbow=90, twist=40)  # fretting hand on the neck
    r.arm("r", flex=25, abd=20 * d.cue.arm_spread, elbow=80 + 25 * d.amp * d.wave(2.0))
    r.spine(flex=6, twist=4 * d.wave(1.0))
    r.head(pitch=12)


def violin(r, d):
    r.arm("l", abd=80, front=55, elbow=120, twist=60)  # violin held out on the left shoulder
    bow_ = d.wave(0.8)
    r.arm("r", abd=70 * d.cue.arm_spread, front=50 - 25 * d.amp * bow_, elbow=70 - 35 * d.amp * bow_)
    r.head(pitch=15, roll=15)
    r.spine(lateral=5 * d.amp * bow_)


def piano(r, d):
    for side, off in (("l", 0.0), ("r", 2.0)):
        r.arm(side, flex=10 + 6 * d.amp * d.wave(1.3, off), abd=45, front=45 + 15 * d.amp * d.wave(0.4, off), elbow=80)
    r.spine(flex=12, lateral=5 * d.amp * d.wave(0.4), twist=6 * d.amp * d.wave(0.4))
    r.head(pitch=15)


def balance(r, d):
    up = d.ramp(1.0)
    side = d.rng.choice(["l", "r"])
    _weight_on(r, other_side(side), d.ramp(0.5))
    r.leg(side, flex=60 * up * d.amp, knee=80 * up)
    r.bend(other_side(side), 5)
    for s in "lr":
        r.arm(s, abd=(90 * d.cue.arm_spread) * up + 8 * d.wave(0.4), elbow=10)


def backbend(r, d):
    b = np.clip(d.smooth(0.3, -np.pi / 2), 0, None) * d.amp  # smooth: the planted body follows the bend
    r.spine(flex=-40 * b)
    r.head(pitch=-30 * b)
    for side in "lr":
        r.arm(side, flex=170 * b, abd=10, elbow=10)
        r.leg(side, flex=-10 * b, knee=30 * b, ankle=-10 * b)


FAMILIES: dict[str, Callable[[AngleRig, Drive], None]] = {
    f.__name__: f for f in (
        walk, run, cartoon_walk, sneak, tiptoe, step_touch, wave, arm_wave, bow, take_bow, reach_up, present,
        point, clap, punch, kick, squat, sway, spin, jump, star_jump, spin_jump, dodge, throw, stretch,
        look_around, drum, strum, violin, piano, balance, backbend,
    )
}
TRAVELLING = {"walk", "run", "cartoon_walk", "sneak", "tiptoe"}


def apply_posture(r: AngleRig, d: Drive) -> None:
    """Emotion posture shared by all families: lean, head, shoulders, chest, fidget, idle bounce."""
    c = d.cue
    r.spine(flex=c.trunk_flex - c.chest_out * 0.3)
    r.add("spine3", x=-c.chest_out * 0.7)
    r.head(pitch=c.head_pitch)
    for side in "lr":
        r.collar(side, raise_=c.shoulder_raise, back=c.chest_out * 0.6)
        # Raising the collar swings the whole arm outwards; counter it so the arm keeps its direction.
        r.arm(side, abd=90.0 - c.shoulder_raise)
    if c.fidget > 0:
        for joint in ("l_elbow", "r_elbow", "neck", "l_collar", "r_collar", "l_shoulder", "r_shoulder"):
            noise = sum(np.sin(2 * np.pi * f * r.t + d.rng.uniform(0, 6.28)) for f in d.rng.uniform(2.5, 5.0, 3))
            r.add(joint, x=1.5 * c.fidget * noise, z=1.0 * c.fidget * noise)
