"""Which joints run out of strength in mode none: per clip and over a folder of Bandai BVH files, the share of
control steps where a joint group's actuators sit at their force limit, and the share of the whole-body QP's solves
whose torques ask more than that limit (issue 18; RESULTS.md, "The learner paced ... and what the runs ask of the
legs").

    PYTHONPATH=. python docs/experiments/actuator_saturation.py <folder of run clips> --every 7
    PYTHONPATH=. python docs/experiments/actuator_saturation.py <folder> --every 7 --set wholebody.kp_joint=300
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

GROUPS = ("hip", "knee", "ankle", "foot", "spine1", "spine2", "spine3")


def main() -> None:
    from threadpoolctl import threadpool_limits

    from envs.config import apply_overrides
    from envs.executor import TrackingExecutor
    from envs.executor.config import load_executor_config
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="a folder of Bandai BVH files")
    parser.add_argument("--every", type=int, default=1, help="every n-th clip, sorted by name")
    parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="an executor config override, as `l2emg sim track --set executor.*` without the prefix")
    args = parser.parse_args()
    threadpool_limits(1)
    files = sorted(Path(args.folder).glob("*.bvh"))[::args.every]
    if not files:
        sys.exit(f"{args.folder}: no .bvh files")
    cfg = load_executor_config()
    if args.set:
        cfg = apply_overrides(cfg, dict(s.split("=", 1) for s in args.set), "--set")
    ex = TrackingExecutor(cfg)
    wb = ex.wholebody
    limit = ex.model.actuator_forcerange[ex.act, 1]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(ex.spec.joint_names):
        joint = name.rsplit("_", 1)[0]
        groups[joint[2:] if joint[:2] in ("l_", "r_") else joint].append(i)
    asked: list[np.ndarray] = []
    applied: list[np.ndarray] = []
    solve = wb.control

    def control(d, k):  # the QP's torques of each solve, against the limits
        out = solve(d, k)
        asked.append(np.abs(wb._tau) / limit)
        return out

    wb.control = control
    ex.hooks.append(lambda d, k: applied.append(np.abs(d.actuator_force[ex.act]) / limit))
    totals: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(2))
    tracked = 0
    for path in files:
        asked.clear(), applied.clear()
        result = ex.execute(retarget(read_bvh(path), JointMap.bandai()).motion, mode="none")
        tracked += result.success
        at_limit, over = np.array(applied), np.array(asked)
        row = []
        for g in GROUPS:
            shares = np.array([(at_limit[:, groups[g]] > 0.999).any(axis=1).mean(), (over[:, groups[g]] > 1.0).any(axis=1).mean()])
            totals[g] += shares
            row.append(f"{g} {shares[0]:.2f}/{shares[1]:.2f}")
        print(f"{path.stem}: {result.reason} at {result.failed_at_s}  " + "  ".join(row[:4]), flush=True)
    print(f"tracked {tracked} of {len(files)}; per joint group, mean over clips: share of control steps at the force "
          "limit / share of solves asking more than it")
    for g in GROUPS:
        print(f"  {g:7s} {totals[g][0] / len(files):.3f} / {totals[g][1] / len(files):.3f}")


if __name__ == "__main__":
    main()
