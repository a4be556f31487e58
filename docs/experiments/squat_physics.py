"""Procedural clips of one family tracked unassisted, with what gravity and the skeleton ask of them (issue 18;
RESULTS.md, "Squats within the hips' range and no faster than gravity"):

    PYTHONPATH=. python docs/experiments/squat_physics.py sports/squat --variations 0,1,8,9

One line per clip: the verdict of mode `none` (the tracking of `l2emg sim track`), the pelvis's lowest height, its
peak downward and upward acceleration (height smoothed by a 0.03 s Gaussian: a body cannot go down faster than g),
and the deepest hip flexion the family asked before the rig clamped it; then the count tracked per emotion.
"""
from __future__ import annotations

import argparse
import collections

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", metavar="SCENARIO/FAMILY", help="a synth-8 family, e.g. sports/squat")
    parser.add_argument("--variations", default="0,1,8,9", help="comma-separated; synth-8 holds 0-7")
    args = parser.parse_args()

    from scipy.ndimage import gaussian_filter1d
    from threadpoolctl import threadpool_limits

    from envs.executor import TrackingExecutor
    from envs.skeleton import JOINT_INDEX
    from envs.synth import SynthSource
    from envs.synth.drive import Drive
    from envs.synth.families import FAMILIES
    from envs.synth.rig import AngleRig

    scenario, family = args.clip.split("/")
    source, executor = SynthSource(), TrackingExecutor()
    tracked: collections.Counter = collections.Counter()
    with threadpool_limits(1):
        for emotion in source.emotions:
            for variation in (int(v) for v in args.variations.split(",")):
                motion = source.generate(scenario, family, emotion, variation).motion
                result = executor.execute(motion, mode="none")
                tracked[emotion] += int(result.success)
                height = gaussian_filter1d(motion.positions[:, JOINT_INDEX["pelvis"], 1], 0.03 * motion.fps)
                acc = np.diff(height, 2) * motion.fps ** 2
                cue = source.config.cues[emotion]
                rig = AngleRig(motion.num_frames, motion.fps)  # the family's own angles, before the rig clamps
                FAMILIES[family](rig, Drive(rig.t, cue, np.random.default_rng(0), cue.tempo, cue.amplitude))
                hip = float(-rig.angles[:, JOINT_INDEX["l_hip"], 0].min(initial=0.0))  # rig.leg: flexion is -x
                print(f"{emotion:9s} v{variation}  {result.reason:16s} pelvis >= {height.min():.2f} m  "
                      f"down {-acc.min():5.1f}  up {acc.max():5.1f} m/s^2  hip flexion asked {hip:5.1f} deg "
                      f"(at the emotion's nominal tempo and amplitude)", flush=True)
    n = len(args.variations.split(","))
    per_emotion = ", ".join(f"{e} {tracked[e]}/{n}" for e in source.emotions)
    print(f"tracked: {per_emotion}; all {sum(tracked.values())}/{n * len(source.emotions)}")


if __name__ == "__main__":
    main()
