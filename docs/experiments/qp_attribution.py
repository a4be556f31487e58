"""Which whole-body tasks hold back the centre of mass's acceleration along the heading (issue 18; RESULTS.md,
"Fast walks are the ones lost").

In late single support (more than 0.2 s after the clip lifts a foot; `--phase` reads another) the walking MPC asks
the centre of mass for one acceleration and the whole-body QP solves for another. This re-solves each recorded QP
with one task's terms scaled by 0.1 (and the centre of mass's by 10, and by 1,000: about what the
standing foot's contacts allow at all) and prints the mean acceleration along the clip's heading: a task
whose smaller weight raises it is one the acceleration was traded for. Each solve's problem is recorded where the
controller hands it to `qp_blocks.assemble_blocks` (the tasks' rows, weights and targets, named per task by the
controller's `task_rows`), re-assembled with the one weight scaled and solved whole (`qp.solve_qp`); the simulation
itself runs the shipped arithmetic.

    PYTHONPATH=. python docs/experiments/qp_attribution.py path/to/dataset-2_walk_active_001.bvh ...
    PYTHONPATH=. python docs/experiments/qp_attribution.py walk_proud_001 --set wholebody.weight_com=300
    PYTHONPATH=. python docs/experiments/qp_attribution.py path/to/clip.bvh --phase 'double support' --set stance.roll_toes=true

Terms: `com`, `root position` / `root orientation` (the pelvis's PD rows), `legs' sagittal hinges` (those under 1
in `joint_weight_stepping`) and each other hinge group by name (`hinges spine2`, ...), `stance feet`, `swing feet`,
`swing soles level`, `contact points still`, `angular momentum`, `centre of pressure` (the MPC's), `contact forces
small` (their regularization).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _executor, _motion, _phase  # noqa: E402

def _hinge_groups(wb) -> list[str]:
    """Per hinge of the humanoid, its name without side and axis (``spine2``, ``knee``)."""
    import mujoco

    names = []
    for i in range(6, wb.nv):
        joint = mujoco.mj_id2name(wb.model, mujoco.mjtObj.mjOBJ_JOINT, int(wb.model.dof_jntid[wb.dadr + i]))
        names.append((joint[2:] if joint[:2] in ("l_", "r_") else joint).rsplit("_", 1)[0])
    return names


def _variants(args: tuple, task_rows: list[tuple[str, int]], hinges: list[str]) -> dict[str, tuple]:
    """``assemble_blocks``'s arguments with one term scaled, per name ("com x10", "hinges spine2 x0.1", ...)."""
    joint_weight, weights = args[0], args[6]
    out: dict[str, tuple] = {}

    def scaled(index: int, value) -> tuple:
        return args[:index] + (value,) + args[index + 1:]

    start, spans = 0, {}
    for name, count in task_rows:  # a name may recur (two stance feet): its rows together
        spans.setdefault(name, []).extend(range(start, start + count))
        start += count
    for name, idx in spans.items():
        for scale in ((10.0, 1000.0) if name == "com" else (0.1,)):  # x1000: what the contacts allow at all
            w = weights.copy()
            w[idx] *= scale
            out[f"{name} x{scale:g}"] = scaled(6, w)
    groups: dict[str, list[int]] = {"root position": [0, 1, 2], "root orientation": [3, 4, 5]}
    for i in range(6, len(joint_weight)):
        group = "legs' sagittal hinges" if joint_weight[i] < 0.5 else f"hinges {hinges[i - 6]}"
        groups.setdefault(group, []).append(i)
    for group, idx in groups.items():
        w = joint_weight.copy()
        w[idx] *= 0.1
        out[f"{group} x0.1"] = scaled(0, w)
    out["contact forces small x0.1"] = scaled(9, 0.1 * args[9])
    if args[11] > 0 and args[10].shape[0]:
        out["centre of pressure x0.1"] = scaled(11, 0.1 * args[11])
    return out


def _com_rows(args: tuple, task_rows: list[tuple[str, int]]) -> np.ndarray:
    """The centre-of-mass task's rows (its Jacobian) among the recorded tasks."""
    start = 0
    for name, count in task_rows:
        if name == "com":
            return args[5][start:start + count]
        start += count
    raise SystemExit("qp_attribution: the controller recorded no `com` task")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="dataset-1 clip names without the prefix, or BVH files")
    parser.add_argument("--set", default="", help="executor config overrides, e.g. wholebody.weight_com=300")
    parser.add_argument("--phase", default="single, > 0.2 s", choices=("single, > 0.2 s", "double support", "flight"),
                        help="the clip's gait phase read (gait_events._phase)")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from envs.executor import wholebody
    from envs.executor.qp import solve_qp
    from envs.executor.qp_blocks import assemble_blocks, whole_problem

    threadpool_limits(1)
    recorded: list[tuple] = []

    def recording(*blocks_args):  # what control hands the QP, kept for re-solving, with the blocks it returns (control
        blocks = assemble_blocks(*blocks_args)  # adds the angular momentum's force-block task to them in place)
        recorded[:] = [blocks_args, blocks]
        return blocks

    wholebody.assemble_blocks = recording
    executor = _executor(args.set)
    if executor.config.wholebody.torque_limits:
        raise SystemExit("qp_attribution: re-solves without the torques' limits; run it with wholebody.torque_limits=false")
    hinges = _hinge_groups(executor.wholebody)  # once: the joints' names are the model's
    asked: dict[int, float] = {}
    plan = wholebody.WholeBodyController._mpc_plan
    control = wholebody.WholeBodyController.control
    rows: dict[str, list[float]] = {}

    def planned(self, d, k, com, com_vel):  # the plan in force at every solve (made once per reference step or not)
        result = plan(self, d, k, com, com_vel)
        if result is not None:
            asked[k] = float((self.mpc.omega[k] ** 2 * (com[:2] - result.zmp)) @ self.mpc.forward[k])
        return result

    def attributed(self, d, k):
        asked.pop(k, None)
        out = control(self, d, k)
        if k in asked and _phase(self.stance, k, self.ref.dt) == args.phase:
            blocks_args, e = recorded[0], self.mpc.forward[k]
            jcom = _com_rows(blocks_args, self.task_rows)
            nv = len(blocks_args[0])

            # what control added to the force block after assembling (momentum.add_momentum_rate_task), kept in
            # every re-solve
            shipped = assemble_blocks(*blocks_args)
            added = [recorded[1][i] - shipped[i] for i in (2, 3)]

            def along(a: tuple) -> float:  # the solve's centre-of-mass acceleration along the heading
                coupling = (np.ascontiguousarray(a[8] * a[2].T), a[4])
                h_aa, g_a, h_ff, g_f = assemble_blocks(*a)
                problem = whole_problem(h_aa, g_a, h_ff + added[0], g_f + added[1], *coupling)
                return float((jcom @ solve_qp(*problem, nv, None)[:nv])[:2] @ e)

            found = {"asked by the MPC": asked[k], "solved (shipped weights)": along(blocks_args)}
            for name, changed in _variants(blocks_args, self.task_rows, hinges).items():
                found[name] = along(changed)
            for name, value in found.items():
                rows.setdefault(name, []).append(value)
        return out

    wholebody.WholeBodyController._mpc_plan, wholebody.WholeBodyController.control = planned, attributed
    for clip in args.clips:
        result = executor.execute(_motion(clip), mode="none")
        print(f"{clip}: {result.reason} after {result.simulated_s:.2f} s")
    if not rows:
        raise SystemExit(f"qp_attribution: no control step in the phase {args.phase!r} with a plan")
    print(f"{args.phase}, {len(rows['asked by the MPC'])} controller calls: centre-of-mass acceleration along the "
          f"clip's heading (m/s^2), mean / median")
    for name, values in rows.items():
        print(f"  {name:34s} {np.mean(values):+.2f} / {np.median(values):+.2f}")


if __name__ == "__main__":
    main()
