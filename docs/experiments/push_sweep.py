"""Push sweep on a still standing pose, mode none (issue 18; see README.md beside this file).

An impulse on the pelvis over 0.1 s, one second into a 5 s still pose (the first frame of synth-8's
daily_life/wave/happy), in the body's own directions (forward = from the heel boxes to the toes). Judged on
falling only: the deviation limit is lifted, since a body that steps away from a push is displaced on purpose.

    PYTHONPATH=. python docs/experiments/push_sweep.py --impulses 30,40,50,60 --directions fwd,back,left,right
    PYTHONPATH=. python docs/experiments/push_sweep.py ... --no-recovery      # push recovery off
    PYTHONPATH=. python docs/experiments/push_sweep.py ... --set wholebody.solve_hz=30   # any executor setting
    PYTHONPATH=. python docs/experiments/push_sweep.py --pose bvh:$L2EMG_BANDAI_ROOT/dataset-1/data/dataset-1_bow_normal_001.bvh

Prints one JSON line per push: direction, impulse (N s), reason, time of failure, steps taken.
"""
from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impulses", default="30,40,50,60")
    parser.add_argument("--directions", default="fwd,back,left,right")
    parser.add_argument("--no-recovery", action="store_true", help="push recovery off")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="an executor setting by its dotted key, as YAML (e.g. wholebody.solve_hz=30); repeatable")
    parser.add_argument("--pose", default="synth:daily_life/wave/happy",
                        help="synth:SCENARIO/FAMILY/EMOTION, or bvh:PATH (a Bandai clip): its first frame is held")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from envs.config import apply_overrides, parse_assignments
    from envs.executor import TrackingExecutor
    from envs.executor.config import load_executor_config
    from envs.synth import SynthSource
    from tests.helpers import still_motion

    threadpool_limits(1)
    cfg = apply_overrides(load_executor_config(), parse_assignments(args.set), "--set")
    cfg = dataclasses.replace(cfg, failure=dataclasses.replace(cfg.failure, max_mean_deviation=100.0))
    if args.no_recovery:
        off = dataclasses.replace(cfg.stepping.push_recovery, enabled=False)
        cfg = dataclasses.replace(cfg, stepping=dataclasses.replace(cfg.stepping, push_recovery=off))
    ex = TrackingExecutor(cfg)
    if args.pose.startswith("bvh:"):
        from envs.io.bvh import read_bvh
        from envs.retarget import JointMap, retarget

        pose = retarget(read_bvh(args.pose[4:]), JointMap.bandai()).motion
    else:
        pose = SynthSource().generate(*args.pose.removeprefix("synth:").split("/"), 0).motion
    still = still_motion(pose, 150)
    dt = ex.reference(still).dt
    ex.execute(still, mode="none")  # the body's facing, from where its feet point when it stands
    g = ex.foot_geoms
    forward = (ex.data.geom_xpos[g[2:4], :2] - ex.data.geom_xpos[g[:2], :2]).sum(axis=0)
    forward /= np.linalg.norm(forward)
    left = np.array([-forward[1], forward[0]])
    directions = {"fwd": forward, "back": -forward, "left": left, "right": -left}
    for name in args.directions.split(","):
        for impulse in (float(x) for x in args.impulses.split(",")):
            force = directions[name] * impulse / 0.1

            def push(d, k, force=force):
                d.xfrc_applied[ex.pelvis, :2] = force if 1.0 <= k * dt < 1.1 else 0.0

            ex.hooks[:] = [push]
            r = ex.execute(still, mode="none")
            ex.hooks[:] = []
            recovery = ex.wholebody.push
            print(json.dumps({"direction": name, "impulse_Ns": impulse, "reason": r.reason, "failed_at_s": r.failed_at_s,
                              "steps": None if recovery is None else recovery.steps_taken}), flush=True)


if __name__ == "__main__":
    main()
