"""How much room the walking MPC has sideways, and when the body's capture point leaves the clip's (issue 18; RESULTS.md,
"Which way the walks are lost").

For each clip tracked in mode `none`, at every walking-MPC plan: the body's capture point (DCM, c + c'/omega) against
the clip's along the lateral axis of the clip's heading, and whether the plan's centre of pressure now (its first
interval) sits at the edge of the soles standing now (within 1 mm of their hull's edge less the MPC's margin, in any
direction: the plan has no room left on that side; read so since `stepping.mpc.support: hull`, before along the
lateral axis of the box). Prints per clip the share of plans at a bound (over the clip, and over the second before the
lateral capture-point error first exceeds 10 cm), the times and gait phases at which that error first exceeds 5 and
10 cm, and the largest landing shift planned in that second. Then, over all clips, where the feet touched the floor
against where the step planner last aimed them (each foot's first contact after a time off the floor, bounces
included), along and across the clip's heading.

    PYTHONPATH=. python docs/experiments/lateral_balance.py walk_sad_002 walk_normal_001
    PYTHONPATH=. python docs/experiments/lateral_balance.py path/to/dataset-2_walk_active_001.bvh --set stepping.mpc.margin=0.01
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _executor, _motion, _phase  # noqa: E402

AT_BOUND_M = 1e-3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="dataset-1 clip names without the prefix, or BVH files")
    parser.add_argument("--set", default="", help="executor config overrides, e.g. stepping.mpc.margin=0.01")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from envs.executor import walk_mpc
    from envs.executor.feasibility import hull_distance

    threadpool_limits(1)
    executor = _executor(args.set)
    wb = executor.wholebody
    log: dict[int, tuple[float, bool, float]] = {}  # reference step -> (lateral DCM error, at a bound, largest shift)
    landed: list[tuple[float, float]] = []  # per touch-down: landed minus aimed, along and across the heading
    was_on = {"feet": None}

    def touch_downs(d, k):
        if wb.ref is None or wb.planner is None or k < 1:
            return
        touching = wb.foot_geoms_on_floor(d)
        on = touching[:2] | touching[2:]
        if was_on["feet"] is not None:
            forward = wb.mpc.forward[k]
            for f in np.flatnonzero(on & ~was_on["feet"]):
                miss = d.geom_xpos[wb.foot_geoms[f], :2] - wb.planner.last_target[f][:2]
                landed.append((float(miss @ forward), float(miss @ np.array((-forward[1], forward[0])))))
        was_on["feet"] = on
    plan_of = walk_mpc.WalkMpc.plan

    def read_plan(self, k, com, com_vel, support, sole_now):
        plan = plan_of(self, k, com, com_vel, support, sole_now)
        if plan is None or k in log:  # once per reference step
            return plan
        forward = self.forward[k]
        across = np.array((-forward[1], forward[0]))
        points = np.concatenate([self.touching(sole)[:, :2] for sole in sole_now if sole is not None])
        w = self.omega[k]
        error = (com[:2] + com_vel[:2] / w - self.com[k] - self.com_vel[k] / w) @ across
        # at the edge of the soles standing now, less the margin (the box's corner counts for `support: box`)
        at_bound = hull_distance(points, plan.zmp) >= -self.config.margin - AT_BOUND_M
        shifts = [np.abs(v).max() for v in plan.shift.values()]
        log[k] = (float(error), bool(at_bound), float(max(shifts)) if shifts else 0.0)
        return plan

    walk_mpc.WalkMpc.plan = read_plan
    executor.hooks[:] = [touch_downs]
    try:
        for clip in args.clips:
            log.clear()
            was_on["feet"] = None
            result = executor.execute(_motion(clip), mode="none")
            dt, steps = wb.ref.dt, sorted(log)
            if not steps:
                print(f"{clip}: {result.reason} after {result.simulated_s:.2f} s; no walking-MPC plan")
                continue
            error = np.array([log[k][0] for k in steps])
            bound = np.array([log[k][1] for k in steps])

            def first(limit: float) -> int | None:
                over = np.flatnonzero(np.abs(error) > limit)
                return steps[over[0]] if len(over) else None

            k5, k10 = first(0.05), first(0.10)
            before = [k for k in steps if k10 is not None and k10 - round(1.0 / dt) <= k < k10]
            when = lambda k: "never" if k is None else f"{k * dt:.2f} s ({_phase(wb.stance, k, dt)})"  # noqa: E731
            line = (f"{clip}: {result.reason} after {result.simulated_s:.2f} s; centre of pressure at the soles' edge in "
                    f"{bound.mean():.0%} of plans; capture-point error > 5 cm at {when(k5)}, > 10 cm at {when(k10)}")
            if before:
                line += (f"; the second before: at a bound in {np.mean([log[k][1] for k in before]):.0%}, largest "
                         f"landing shift {max(log[k][2] for k in before):.2f} m")
            print(line, flush=True)
    finally:
        walk_mpc.WalkMpc.plan = plan_of
        executor.hooks[:] = []
    if landed:
        miss = np.abs(np.array(landed))
        print(f"{len(miss)} touch-downs: landed minus aimed, mean |.| along {miss[:, 0].mean():.3f} m, across "
              f"{miss[:, 1].mean():.3f} m; 90th percentile {np.percentile(miss[:, 0], 90):.3f} / {np.percentile(miss[:, 1], 90):.3f} m")


if __name__ == "__main__":
    main()
