"""Where mode `none` spends its time (issue 18, speed): synth-8 clips tracked unassisted, the wall time of each part
of the whole-body controller measured by timers around it (cProfile's own cost would skew the many small calls).

    PYTHONPATH=. python docs/experiments/sim_profile.py daily_life/bow sports/run --repeats 5

Per clip one JSON line: real-time factor, wall seconds per execution, and seconds per execution in the controller's
parts (nested: ``control`` includes ``walk_mpc``, ``push_recovery``, ``qp`` (assembly and solve) and ``contacts``; ``preparation`` is the
planted reference, the centre-of-mass plan and the controller's tables). One core (BLAS and Numba single-threaded).
"""
from __future__ import annotations

import argparse
import collections
import json
import time


def _timed(owner, name: str, label: str, spent: collections.Counter) -> None:
    """Replaces ``owner.name`` by a wrapper adding its wall time to ``spent[label]``."""
    inner = getattr(owner, name)

    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - t0

    setattr(owner, name, wrapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", metavar="SCENARIO/FAMILY", help="synth-8 families (emotion neutral)")
    parser.add_argument("--variation", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    import envs.executor.wholebody as wholebody
    from envs.executor import TrackingExecutor
    from envs.executor.push_recovery import PushRecovery
    from envs.executor.tracker import TrackingExecutor as Tracker
    from envs.synth import SynthSource

    spent: collections.Counter = collections.Counter()
    for owner, name, label in ((Tracker, "planted", "preparation"), (Tracker, "com_plan", "preparation"),
                               (Tracker, "reference", "reference"), (PushRecovery, "react", "push_recovery"),
                               (wholebody, "assemble_blocks", "qp"), (wholebody, "solve_blocks", "qp"),
                               (wholebody, "solve_qp", "qp"), (wholebody, "stance_contacts", "contacts")):
        _timed(owner, name, label, spent)
    executor = TrackingExecutor()
    controller = type(executor.wholebody)
    for name, label in (("prepare", "preparation"), ("control", "control"), ("hold", "hold"), ("_mpc_plan", "walk_mpc")):
        _timed(controller, name, label, spent)
    source = SynthSource()
    with threadpool_limits(1):
        for clip in args.clips:
            scenario, family = clip.split("/")
            motion = source.generate(scenario, family, "neutral", args.variation).motion
            result = executor.execute(motion, mode="none")  # compiles and warms caches
            spent.clear()
            t0 = time.perf_counter()
            for _ in range(args.repeats):
                result = executor.execute(motion, mode="none")
            wall = (time.perf_counter() - t0) / args.repeats
            parts = {k: round(v / args.repeats, 4) for k, v in spent.most_common()}
            parts["physics_and_loop"] = round(wall - sum(v for k, v in parts.items() if k in ("control", "hold", "preparation", "reference")), 4)
            print(json.dumps({"clip": clip, "success": result.success, "reason": result.reason,
                              "simulated_s": round(result.simulated_s, 2), "wall_s": round(wall, 4),
                              "realtime_factor": round(result.simulated_s / wall, 1), "seconds": parts}), flush=True)


if __name__ == "__main__":
    main()
