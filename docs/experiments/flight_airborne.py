"""In the clip's flights, is the body in the air too? (issue 18; see README.md beside this file)

For each clip whose contact schedule has flights (no foot down), tracked in mode none: at every control step up to the
end or the failure, whether the clip is in flight and whether any of the body's foot geoms touches the floor. Prints
per group (walking contents, run, dash) the clips, the clip's flight steps and the share of them in which the body is
airborne too; RESULTS.md "The floor's push chattered at the clip's frame rate" (the flight ablation).

``--clip-only`` simulates nothing and reads the schedule against the clip itself: per group, the clips' median share
of steps in flight, and the share of flight steps in which the clip's centre of mass (the planted reference's, under a
0.03 s Gaussian) accelerates upward by more than half g above free fall, where a body in the air cannot (RESULTS.md,
"Dashes lose the floor at their first push ..."); ``--set`` changes the executor's config for it.

    PYTHONPATH=. python docs/experiments/flight_airborne.py                      # dataset-1's walks, runs and dashes
    PYTHONPATH=. python docs/experiments/flight_airborne.py --dir path/to/dataset-2/data --every 4
    PYTHONPATH=. python docs/experiments/flight_airborne.py --clip-only [--set stepping.contact_height=0.03]

Reads `$L2EMG_BANDAI_ROOT/dataset-1/data` (`--dir`: another folder of Bandai BVH files). Deterministic.
"""
from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

import numpy as np


def group(stem: str) -> str | None:
    """``walking``, ``run`` or ``dash`` from a Bandai file name's content (``sim track``'s groups), None for the others."""
    from agent.bench.sim_track import WALKING, content_of

    content = content_of(stem)
    if content in WALKING:
        return "walking"
    return content if content in ("run", "dash") else None


def clip_flights(ex, motion) -> tuple[np.ndarray, np.ndarray]:
    """(N,) whether the contact schedule has no foot down, and (N,) the clip's centre of mass's vertical acceleration
    (m/s^2, the planted reference's, smoothed as ``stepping.ballistic_flights`` reads it), at the control steps of
    ``motion``."""
    from scipy.ndimage import gaussian_filter1d

    from envs.executor.stepping import FLIGHT_SMOOTH_S, contact_schedule

    tracked, _ = ex.planted(ex.reference(motion))
    dt = tracked.dt
    # the schedule as the controller reads it (WholeBodyController.prepare), without building the rest of its plans
    stance = contact_schedule(ex.wholebody._feet(tracked)[1], dt, ex.config.stepping, com_height=tracked.com[:, 2]).stance
    height = gaussian_filter1d(tracked.com[:, 2], FLIGHT_SMOOTH_S / dt, mode="nearest")
    return ~stance.any(axis=1), np.gradient(np.gradient(height, dt), dt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None, help="folder of Bandai BVH files (default: dataset-1's)")
    parser.add_argument("--every", type=int, default=1, help="every n-th clip of each group")
    parser.add_argument("--clip-only", action="store_true", help="no simulation: the schedule's flights against the "
                        "clip's own centre of mass")
    parser.add_argument("--set", default="", help="executor overrides, comma separated (stepping.contact_height=0.03)")
    args = parser.parse_args()
    from envs.config import apply_overrides, parse_assignments
    from envs.executor import TrackingExecutor
    from envs.executor.config import load_executor_config
    from envs.executor.feasibility import GRAVITY
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    folder = args.dir or Path(os.environ["L2EMG_BANDAI_ROOT"]) / "dataset-1" / "data"
    changes = parse_assignments([item for item in args.set.split(",") if item], "flight_airborne --set")
    ex = TrackingExecutor(apply_overrides(load_executor_config(), changes, "flight_airborne --set"))
    shares: dict[str, list[float]] = defaultdict(list)  # --clip-only: per clip, its share of steps in flight
    seen: dict[str, int] = defaultdict(int)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # clips, tracked, flight steps, airborne too
    for path in sorted(folder.glob("*.bvh")):
        g = group(path.stem)
        if g is None:
            continue
        seen[g] += 1
        if (seen[g] - 1) % args.every:
            continue
        if args.clip_only:
            flight, rise = clip_flights(ex, retarget(read_bvh(path), JointMap.bandai()).motion)
            shares[g].append(float(flight.mean()))
            t = totals[g]
            t[0] += int(flight.any())
            t[2] += int(flight.sum())
            t[3] += int((flight & (rise > -0.5 * GRAVITY)).sum())
            continue
        steps: list[tuple[bool, bool]] = []  # (clip in flight, body airborne) per control step

        def record(d, k: int) -> None:
            wb = ex.wholebody
            if wb is not None and k < len(wb.stance):
                steps.append((not wb.stance[k].any(), not wb.foot_geoms_on_floor(d).any()))

        ex.hooks.append(record)
        try:
            result = ex.execute(retarget(read_bvh(path), JointMap.bandai()).motion, mode="none")
        finally:
            ex.hooks.remove(record)
        flags = np.array(steps, dtype=bool).reshape(-1, 2)
        if not flags[:, 0].any():
            continue
        t = totals[g]
        t[0] += 1
        t[1] += int(result.success)
        t[2] += int(flags[:, 0].sum())
        t[3] += int((flags[:, 0] & flags[:, 1]).sum())
    if args.clip_only:
        print(json.dumps({g: {"clips": len(shares[g]), "clips_with_flights": t[0],
                              "median_share_of_steps_in_flight": round(float(np.median(shares[g])), 3),
                              "clip_flight_steps": t[2], "com_rising_faster_than_half_g_above_free_fall": t[3],
                              "share": round(t[3] / max(t[2], 1), 3)} for g, t in totals.items()}))
        return
    print(json.dumps({g: {"clips_with_flights": t[0], "tracked": t[1], "clip_flight_steps": t[2],
                          "body_airborne_too": t[3], "share": round(t[3] / t[2], 3)} for g, t in totals.items()}))


if __name__ == "__main__":
    main()
