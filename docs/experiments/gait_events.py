"""Dataset-1 walks in mode `none` read at the clip's own gait events (issue 18; RESULTS.md, "Where the walks fall
behind"):

- `liftoff`: at each lift-off of the clip while its other foot stands, the share of the body's weight the lifting
  foot still carries then and over the next 8 steps, and the body's and the clip's capture points against the
  standing foot (heading frame: x forward, y left);
- `lag`: along one walk, the body's centre of mass against the clip's along the heading, the balance anchor, where
  each foot stands against the clip's same foot, and the walking MPC's landing shifts;
- `accel`: the centre-of-mass acceleration along the heading the walking MPC asks for (omega^2 (c - zmp)) against
  the one the whole-body QP solves for and the one the body realises over the next control step, by gait phase of
  the clip's schedule (double support; single support by the time since the lift-off; flight: no foot standing in
  it, where the MPC plans from a foot touching the floor), and the share of controller calls with no foot on the
  floor while the clip stands;
- `torques`: the legs' sagittal hinges (hip_x, knee_x, ankle_x) by gait phase and by leg (standing or swinging in
  the clip): the share of control steps at their actuator's force limit and the mean |torque| applied against the
  one the last whole-body solve asked for; and in single support the standing knee's angle and the pelvis's height
  against the planted clip's;
- `flights`: no simulation; per clip (globs allowed) the clip's flights in the controller's schedule (no foot standing
  for longer than `stepping.mpc.max_gap_s`) and the share of its steps with a foot standing where the walking MPC
  makes no plan (a flight in its horizon), with a summary by content.

    PYTHONPATH=. python docs/experiments/gait_events.py liftoff walk_normal_001 walk_proud_001 walk_sad_001
    PYTHONPATH=. python docs/experiments/gait_events.py lag walk_proud_001 --set wholebody.anchor_s=0
    PYTHONPATH=. python docs/experiments/gait_events.py accel walk_proud_001 walk_normal_001 walk_sad_001
    PYTHONPATH=. python docs/experiments/gait_events.py accel path/to/dataset-2_walk_active_012.bvh
    PYTHONPATH=. python docs/experiments/gait_events.py torques path/to/dataset-2_walk_active_001.bvh
    PYTHONPATH=. python docs/experiments/gait_events.py flights 'walk*' --set stepping.mpc.min_horizon_s=0

`--set` takes executor config overrides (`section.key=value`, comma-separated; envs.config.apply_overrides).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np


def _executor(overrides: str):
    from envs.config import apply_overrides, parse_assignments
    from envs.executor import TrackingExecutor
    from envs.executor.config import load_executor_config

    changes = parse_assignments([item for item in overrides.split(",") if item], "gait_events --set")
    return TrackingExecutor(apply_overrides(load_executor_config(), changes, "gait_events --set"))


def _motion(clip: str):
    from envs.io.bandai import bandai_root
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    path = (Path(clip) if clip.endswith(".bvh")  # a file (dataset-2's, say), else a dataset-1 clip by name
            else bandai_root(os.environ.get("L2EMG_BANDAI_ROOT")) / "dataset-1" / "data" / f"dataset-1_{clip}.bvh")
    return retarget(read_bvh(path), JointMap.bandai()).motion


def _clips(patterns: list[str]) -> list[str]:
    """Dataset-1 clip names (sorted, once each) for glob ``patterns`` without the prefix; a .bvh path passes through."""
    from envs.io.bandai import bandai_root

    folder = bandai_root(os.environ.get("L2EMG_BANDAI_ROOT")) / "dataset-1" / "data"
    names = {p.stem.removeprefix("dataset-1_") for pattern in patterns if not pattern.endswith(".bvh")
             for p in folder.glob(f"dataset-1_{pattern}.bvh")}
    return sorted(names) + [pattern for pattern in patterns if pattern.endswith(".bvh")]


def _foot_loads(executor, d) -> np.ndarray:
    """(2,) normal force (N) on each foot's geoms now."""
    import mujoco

    wb, force, loads = executor.wholebody, np.zeros(6), np.zeros(2)
    for i in range(d.ncon):
        c = d.contact[i]
        geom = c.geom2 if wb._slot_of[c.geom2] >= 0 else (c.geom1 if wb._slot_of[c.geom1] >= 0 else -1)
        if geom >= 0:
            mujoco.mj_contactForce(executor.model, d, i, force)
            loads[wb._slot_of[geom] % 2] += force[0]
    return loads


def liftoff(clips: list[str], overrides: str) -> None:
    import mujoco

    executor = _executor(overrides)
    wb = executor.wholebody
    weight = float(executor.model.body_subtreemass[wb.pelvis]) * 9.81
    shares = []
    for clip in clips:
        log: dict[int, tuple] = {}

        def hook(d, k):
            if wb.ref is None:
                return
            mujoco.mj_jacSubtreeCom(executor.model, d, wb._jcom, wb.pelvis)
            dofs = slice(wb.dadr, wb.dadr + wb.nv)
            velocity = wb._jcom[:, dofs] @ d.qvel[dofs]
            feet = np.array([d.geom_xpos[wb.foot_geoms[f]][:2] for f in range(2)])
            log[k] = (_foot_loads(executor, d) / weight, d.subtree_com[wb.pelvis].copy(), velocity, feet)

        executor.hooks[:] = [hook]
        result = executor.execute(_motion(clip), mode="none")
        print(f"{clip}: {result.reason} after {result.simulated_s:.2f} s")
        stance, omega = wb.stance, wb.planner.omega
        for k in range(1, len(stance)):
            for f in range(2):
                if not (stance[k - 1, f] and not stance[k, f] and stance[k, 1 - f] and k in log):
                    continue
                load, com, velocity, feet = log[k]
                e = wb.mpc.forward[k] if wb.mpc is not None else np.array((1.0, 0.0))
                frame = np.array((e, (-e[1], e[0])))
                body_cp = frame @ (com[:2] + velocity[:2] / omega[k] - feet[1 - f])
                clip_cp = frame @ (wb.com[k, :2] + wb.com_vel[k, :2] / omega[k] - wb.ref_feet[k, 1 - f, :2])
                after = " ".join(f"{log[j][0][f]:.2f}" for j in range(k, k + 9) if j in log)
                shares.append(load[f])
                print(f"  step {k:4d} {'left ' if f == 0 else 'right'} load {load[f]:.2f} (then {after}); capture point "
                      f"against the standing foot: body {np.round(body_cp, 3)}, clip {np.round(clip_cp, 3)}")
    if shares:
        shares = np.array(shares)
        print(f"lift-offs {len(shares)}: median load {np.median(shares):.2f} of the body's weight, "
              f"{np.mean(shares > 0.3):.0%} above 0.3")


def lag(clip: str, overrides: str, every: int) -> None:
    executor = _executor(overrides)
    wb = executor.wholebody
    rows = []

    def hook(d, k):
        if wb.ref is None or k == 0:
            return
        e = wb.mpc.forward[k] if wb.mpc is not None else np.array((1.0, 0.0))
        feet = [(d.geom_xpos[wb.foot_geoms[f]][:2] - wb.ref_heels[k, f]) @ e for f in range(2)]
        shifts = {f: s @ e for f, s in wb.planner.planned_shift.items()}
        anchor = 0.0 if wb.anchor is None else wb.anchor @ e
        rows.append((k, (d.subtree_com[wb.pelvis][:2] - wb.com[k, :2]) @ e, anchor, feet, shifts,
                     wb.stance[k].copy(), wb.support.copy()))

    executor.hooks[:] = [hook]
    result = executor.execute(_motion(clip), mode="none")
    print(f"{clip}: {result.reason} after {result.simulated_s:.2f} s (x: along the clip's heading, m)")
    for k, behind, anchor, feet, shifts, stance, support in rows[::every]:
        planned = " ".join(f"{'LR'[f]} {v:+.3f}" for f, v in sorted(shifts.items())) or "-"
        print(f"{k * wb.ref.dt:5.2f} s  centre of mass - clip's {behind:+.3f}  anchor {anchor:+.3f}  feet - clip's "
              f"L {feet[0]:+.3f} R {feet[1]:+.3f}  MPC landing shift {planned}  clip stands {stance.astype(int)} "
              f"supports {support.astype(int)}")


def accel(clips: list[str], overrides: str) -> None:
    import mujoco

    from envs.executor import wholebody

    executor = _executor(overrides)
    wb = executor.wholebody
    asked: dict[int, list[float]] = {}
    airborne: list[bool] = []  # per controller call while the clip stands: no foot geom touches the floor
    plan, support = wholebody.WholeBodyController._mpc_plan, wholebody.WholeBodyController._support

    def planned(self, d, k, com, com_vel):  # the plan in force at every solve (made once per reference step or not)
        result = plan(self, d, k, com, com_vel)
        if result is not None:
            mpc = self.mpc
            asked.setdefault(k, []).append(float((mpc.omega[k] ** 2 * (com[:2] - result.zmp)) @ mpc.forward[k]))
        return result

    def supported(self, d, k, *state):
        if self.stance[k].any():
            touching = self.foot_geoms_on_floor(d)
            airborne.append(not (touching[:2] | touching[2:]).any())
        return support(self, d, k, *state)

    wholebody.WholeBodyController._mpc_plan, wholebody.WholeBodyController._support = planned, supported
    phases: dict[str, list[tuple[float, float, float]]] = {}
    try:
        for clip in clips:
            velocity: dict[int, np.ndarray] = {}
            solved: dict[int, np.ndarray] = {}  # before control step k: what the last solve (at k - 1) planned
            asked.clear()

            def hook(d, k):
                if wb.ref is not None:
                    mujoco.mj_jacSubtreeCom(executor.model, d, wb._jcom, wb.pelvis)
                    dofs = slice(wb.dadr, wb.dadr + wb.nv)
                    velocity[k] = (wb._jcom[:, dofs] @ d.qvel[dofs])[:2].copy()
                    if getattr(wb, "planned_qacc", None) is not None:
                        solved[k] = (wb._jcom[:, dofs] @ wb.planned_qacc)[:2].copy()

            executor.hooks[:] = [hook]
            result = executor.execute(_motion(clip), mode="none")
            print(f"{clip}: {result.reason} after {result.simulated_s:.2f} s")
            stance, dt = wb.stance, wb.ref.dt
            for k, values in asked.items():
                if k + 1 not in velocity:
                    continue
                e = wb.mpc.forward[k]
                phase = _phase(stance, k, dt)
                realised = float((velocity[k + 1] - velocity[k]) @ e / dt)
                planned = float(solved[k + 1] @ e) if k + 1 in solved else np.nan
                phases.setdefault(phase, []).append((float(np.mean(values)), realised, float(wb.com_acc[k, :2] @ e),
                                                     planned))
    finally:
        wholebody.WholeBodyController._mpc_plan, wholebody.WholeBodyController._support = plan, support
    for phase, rows in sorted(phases.items()):
        a = np.array(rows)
        print(f"{phase:18s} steps {len(a):4d}: asked {a[:, 0].mean():+.2f} m/s^2, solved for by the QP "
              f"{np.nanmean(a[:, 3]):+.2f}, realised {a[:, 1].mean():+.2f}, the clip's {a[:, 2].mean():+.2f}; "
              f"mean |asked - realised| {np.abs(a[:, 0] - a[:, 1]).mean():.2f}")
    if airborne:
        print(f"controller calls with no foot on the floor while the clip stands: {np.mean(airborne):.1%}")


def _phase(stance: np.ndarray, k: int, dt: float) -> str:
    """The clip's gait phase at step k: double support, flight, or single support by the time since the lift-off."""
    if stance[k].all():
        return "double support"
    if not stance[k].any():
        return "flight"
    f = 0 if not stance[k, 0] else 1
    lift = k
    while lift > 0 and not stance[lift - 1, f]:
        lift -= 1
    since = (k - lift) * dt
    return "single, < 0.1 s" if since < 0.1 else ("single, 0.1-0.2 s" if since < 0.2 else "single, > 0.2 s")


def torques(clips: list[str], overrides: str) -> None:
    executor = _executor(overrides)
    wb, model = executor.wholebody, executor.model
    names = [model.actuator(i).name for i in range(model.nu)]
    limit = model.actuator_forcerange[:, 1]
    hinges = ("hip_x", "knee_x", "ankle_x")
    column = {(side, h): names.index(f"{'lr'[side]}_{h}") for side in range(2) for h in hinges}
    # the hinges' qpos within the humanoid's, for the standing knee against the clip's (the free root's 7 first)
    knee_q = [int(model.jnt_qposadr[model.actuator_trnid[column[(side, "knee_x")], 0]]) - wb.qadr for side in range(2)]
    table: dict[tuple[str, str, str], list[float]] = {}
    posture: list[tuple[float, float, float, float]] = []
    for clip in clips:
        log: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

        def hook(d, k):
            if wb.ref is not None and k > 0 and getattr(wb, "_tau", None) is not None:
                log.append((k - 1, d.actuator_force.copy(), wb._tau.copy(), d.qpos[wb.qadr:wb.qadr + wb.ref.qpos.shape[1]].copy()))

        executor.hooks[:] = [hook]
        result = executor.execute(_motion(clip), mode="none")
        print(f"{clip}: {result.reason} after {result.simulated_s:.2f} s")
        stance, dt, ref = wb.stance, wb.ref.dt, wb.ref
        for k, force, tau, q in log:
            phase = _phase(stance, k, dt)
            for side in range(2):
                role = "standing" if stance[k, side] else "swinging"
                for h in hinges:
                    i = column[(side, h)]
                    # the actuators are the hinges in order: the solve's torque of hinge i is tau[i]
                    table.setdefault((phase, role, h), []).append(
                        (float(abs(force[i]) >= 0.999 * limit[i]), abs(force[i]), abs(tau[i])))
            if stance[k].sum() == 1:
                side = 0 if stance[k, 0] else 1
                posture.append((np.degrees(q[knee_q[side]]), np.degrees(ref.qpos[k, knee_q[side]]), q[2], ref.qpos[k, 2]))
    for (phase, role, h), rows in sorted(table.items()):
        a = np.array(rows)
        print(f"{phase:18s} {role:9s} {h:8s} steps {len(a):4d}: at the force limit {a[:, 0].mean():6.1%}, mean |torque| "
              f"applied {a[:, 1].mean():6.1f} N m, solved for {a[:, 2].mean():6.1f}")
    if posture:
        p = np.array(posture)
        print(f"single support, {len(p)} steps: standing knee {p[:, 0].mean():.1f} deg (the clip's {p[:, 1].mean():.1f}), "
              f"pelvis {p[:, 2].mean():.3f} m high (the clip's {p[:, 3].mean():.3f})")


def flights(patterns: list[str], overrides: str) -> None:
    from envs.executor.stepping import _runs

    executor = _executor(overrides)
    wb, cfg = executor.wholebody, executor.config.stepping.mpc
    clips = _clips(patterns)
    by_content: dict[str, list[float]] = {}
    for clip in clips:
        planted, stance = executor.planted(executor.reference(_motion(clip)))
        wb.prepare(planted, stance, executor.com_plan(planted, stance).offset if executor.config.com_plan.enabled else None)
        schedule, dt = wb.stance, planted.dt
        gaps = [(a * dt, (b - a) * dt) for a, b in _runs(~schedule.any(axis=1), True) if (b - a) * dt > cfg.max_gap_s + 1e-9]
        standing = np.flatnonzero(schedule.any(axis=1))
        unplanned = float(np.mean([wb.mpc._supports(k, schedule[k]) is None for k in standing])) if len(standing) else 0.0
        by_content.setdefault(clip.split("_")[0], []).append(unplanned)
        shown = ", ".join(f"{t:.2f} s +{g:.2f}" for t, g in gaps[:4]) + (" ..." if len(gaps) > 4 else "")
        print(f"{clip:30s} flights {len(gaps):2d}  standing steps without a plan {unplanned:6.1%}  {shown}")
    for content, shares in sorted(by_content.items()):
        print(f"{content:12s} {len(shares):3d} clips: standing steps without a plan {np.mean(shares):.1%}, "
              f"clips with any {np.mean(np.array(shares) > 0):.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reading", choices=("liftoff", "lag", "accel", "torques", "flights"))
    parser.add_argument("clips", nargs="+", help="dataset-1 clip names without the prefix (lag: the first one)")
    parser.add_argument("--set", default="", help="executor config overrides, e.g. wholebody.anchor_s=0")
    parser.add_argument("--every", type=int, default=6, help="lag: every n-th control step")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if args.reading == "liftoff":
        liftoff(args.clips, args.set)
    elif args.reading == "accel":
        accel(args.clips, args.set)
    elif args.reading == "torques":
        torques(args.clips, args.set)
    elif args.reading == "flights":
        flights(args.clips, args.set)
    else:
        lag(args.clips[0], args.set, args.every)


if __name__ == "__main__":
    main()
