"""Why a dataset-1 walk is lost in mode none: its upper body folding, read over time (issue 18; RESULTS.md, "What
ends the walks").

Prints every 0.1 s the lean from vertical of pelvis -> spine3 and spine3 -> neck (body / clip), the mean joint
deviation and the pelvis's distance from the clip's; between ``--from`` and ``--to`` (every third control step) the
accelerations the whole-body QP gives the torso's forward-bending hinges against what their PD asks, re-solved on the
same state with one task removed (pelvis position, pelvis orientation, centre of mass); at the end the share of
control steps each actuator spent at its force limit. ``--stepping``/``--stance`` override the config as in
walk_failures.py.

    PYTHONPATH=. python docs/experiments/torso_fold.py walk_happy_001 --from 0.45 --to 1.0
    PYTHONPATH=. python docs/experiments/torso_fold.py walk_happy_001 --stepping "{'mpc': {'enabled': True}}"
"""
from __future__ import annotations

import argparse
import ast
import copy
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from walk_failures import _lean, _override  # noqa: E402

REMOVED = {"pelvis position": {"weight_root_position": 0.0}, "pelvis orientation": {"weight_root_orientation": 0.0},
           "centre of mass": {"weight_com": 0.0, "weight_com_vertical": 0.0}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clip", help="dataset-1 clip without prefix and suffix, e.g. walk_happy_001")
    parser.add_argument("--from", dest="start", type=float, default=0.0, help="s: re-solve from here")
    parser.add_argument("--to", dest="stop", type=float, default=-1.0, help="s: ... to here (default: none)")
    parser.add_argument("--stepping", default="{}")
    parser.add_argument("--stance", default="{}")
    parser.add_argument("--wholebody", default="{}")
    args = parser.parse_args()

    import mujoco
    from threadpoolctl import threadpool_limits

    from envs.executor import TrackingExecutor
    from envs.executor.config import load_executor_config
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget
    from envs.skeleton import JOINT_INDEX as J

    threadpool_limits(1)
    path = Path(os.environ.get("L2EMG_BANDAI_ROOT", "")) / "dataset-1" / "data" / f"dataset-1_{args.clip}.bvh"
    if not path.is_file():
        raise SystemExit(f"no clip {path} (set L2EMG_BANDAI_ROOT)")
    cfg = load_executor_config()
    cfg = dataclasses.replace(cfg, stepping=_override(cfg.stepping, ast.literal_eval(args.stepping)),
                              stance=_override(cfg.stance, ast.literal_eval(args.stance)),
                              wholebody=_override(cfg.wholebody, ast.literal_eval(args.wholebody)))
    ex = TrackingExecutor(cfg)
    wb = ex.wholebody
    hinges = np.array([i for i, n in enumerate(ex.spec.joint_names)
                       if n.split("_")[0] in ("spine1", "spine2", "spine3", "neck", "head") and n.endswith("_x")])
    limit = ex.model.actuator_forcerange[ex.act, 1]
    saturated = []

    def resolve(d, k: int) -> None:
        """The torso hinges' planned accelerations with each task removed, on a copy of this state."""
        kept = (wb.gains, wb._joint_weight.copy(), wb._com_weight.copy(), copy.deepcopy(wb.planner), wb.support.copy(),
                None if wb.anchor is None else wb.anchor.copy(),
                {a: getattr(wb, a, None) for a in ("_tau", "_solved_at", "_q0", "_qd0", "_acc", "_inertia",
                                                   "_joint_weight_stepping")})
        rows = []
        for name, change in {"shipped": {}, **REMOVED}.items():
            state = copy.copy(d)
            mujoco.mj_step1(ex.model, state)
            wb.gains = dataclasses.replace(kept[0], **change)
            wb._joint_weight = kept[1].copy()
            wb._joint_weight[:3], wb._joint_weight[3:6] = wb.gains.weight_root_position, wb.gains.weight_root_orientation
            wb._joint_weight_stepping = kept[6]["_joint_weight_stepping"].copy()
            wb._joint_weight_stepping[:6] = wb._joint_weight[:6]
            wb._com_weight = np.array([wb.gains.weight_com, wb.gains.weight_com, wb.gains.weight_com_vertical])
            wb.control(state, k)
            rows.append((name, wb.planned_qacc[6 + hinges].round(0)))
            wb.planner, wb.support = copy.deepcopy(kept[3]), kept[4].copy()
            wb.anchor = None if kept[5] is None else kept[5].copy()
        wb.gains, wb._joint_weight, wb._com_weight = kept[0], kept[1], kept[2]
        for attr, value in kept[6].items():
            setattr(wb, attr, value)
        g, ref = wb.gains, wb.ref
        q, qd = d.qpos[ex.qadr + 7 + hinges], d.qvel[ex.dadr + 6 + hinges]
        pd = g.kp_joint * (ref.qpos[k, 7 + hinges] - q) + g.kd_joint * (ref.qvel[k, 6 + hinges] - qd)
        print(f"  {k * ref.dt:4.2f} s  PD asks {pd.round(0)}")
        for name, acc in rows:
            print(f"         {name:20s} {acc}")

    def hook(d, k: int) -> None:
        saturated.append(np.abs(d.actuator_force[ex.act]) >= 0.99 * limit)
        if args.start <= k * wb.ref.dt <= args.stop and k % 3 == 0:
            resolve(d, k)

    ex.hooks = [hook]
    motion = retarget(read_bvh(path), JointMap.bandai()).motion
    if args.stop >= 0:
        print("torso hinges:", [ex.spec.joint_names[i] for i in hinges], "(rad/s^2)")
    result = ex.execute(motion, mode="none")
    print(f"{args.clip}: {result.reason} at {result.failed_at_s}")
    for t in range(0, len(result.positions), 2):
        body, clip = result.positions[t], motion.positions[t]
        print(f"  {t / result.fps:4.1f} s  pelvis->spine3 {_lean(body, J['pelvis'], J['spine3']):5.1f} / "
              f"{_lean(clip, J['pelvis'], J['spine3']):4.1f} deg  spine3->neck {_lean(body, J['spine3'], J['neck']):5.1f} / "
              f"{_lean(clip, J['spine3'], J['neck']):4.1f}  mean deviation {np.linalg.norm(body - clip, axis=1).mean():.2f} m  "
              f"pelvis off {np.linalg.norm(body[0] - clip[0]):.2f} m")
    share = np.mean(saturated, axis=0)
    print("at the force limit, share of control steps:",
          {ex.spec.joint_names[i]: round(float(share[i]), 3) for i in np.argsort(-share)[:8]})


if __name__ == "__main__":
    main()
