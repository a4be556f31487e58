"""Which whole-body tasks hold back the centre of mass's acceleration along the heading (issue 18; RESULTS.md,
"Fast walks are the ones lost").

In late single support (more than 0.2 s after the clip lifts a foot; `--phase` reads another) the walking MPC asks
the centre of mass for one acceleration and the whole-body QP solves for another. This re-solves each recorded QP
with one task's terms scaled by 0.1 (and the centre of mass's by 10, and by 1,000: about what the
standing foot's contacts allow at all) and prints the mean acceleration along the clip's heading: a task
whose smaller weight raises it is one the acceleration was traded for. The terms are recorded by an instrumented
copy of `WholeBodyController.control` (its source with each task's Hessian and gradient terms logged under a
name); the simulation itself runs the shipped arithmetic (the instrumented method solves the same QP).

    PYTHONPATH=. python docs/experiments/qp_attribution.py path/to/dataset-2_walk_active_001.bvh ...
    PYTHONPATH=. python docs/experiments/qp_attribution.py walk_proud_001 --set wholebody.weight_com=300
    PYTHONPATH=. python docs/experiments/qp_attribution.py path/to/clip.bvh --phase 'double support' --set stance.roll_toes=true

Terms: `com`, `root position` / `root orientation` (the pelvis's PD rows), `legs' sagittal hinges` (those under 1
in `joint_weight_stepping`) and each other hinge group by name (`hinges spine2`, ...), `stance feet`, `swing feet`,
`swing soles level`, `contact points still`, `centre of pressure` (the MPC's), `contact forces small` (their
regularization).
"""
from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _executor, _motion, _phase  # noqa: E402

# (shipped source, instrumented source): each must occur once in WholeBodyController.control / _swing_task
CONTROL_EDITS = [
    ("""        def task(matrix: np.ndarray, target: np.ndarray, weight: float | np.ndarray) -> None:
            weighted = matrix.T * weight  # (nv, m), a weight per row of the task or one for all
            h_acc[...] += weighted @ matrix
            g_acc[...] -= weighted @ target
""", """        self.term_log = []

        def task(matrix: np.ndarray, target: np.ndarray, weight: float | np.ndarray, name: str = "?") -> None:
            weighted = matrix.T * weight  # (nv, m), a weight per row of the task or one for all
            h_acc[...] += weighted @ matrix
            g_acc[...] -= weighted @ target
            self.term_log.append((name, np.s_[:nv], weighted @ matrix, -(weighted @ target)))
"""),
    ("""        g_acc -= jw * a_des
""", """        g_acc -= jw * a_des
        self.term_log.append(("joints", np.s_[:nv], np.diag(jw), -jw * a_des))
"""),
    ("task(np.vstack(jac_c), -g.contact_damping * np.concatenate(vel_c), g.weight_contact)",
     "task(np.vstack(jac_c), -g.contact_damping * np.concatenate(vel_c), g.weight_contact, 'contact points still')"),
    ("""                    hessian[nv:, nv:] += g.weight_centre_of_pressure * (moment @ moment.T)
""", """                    hessian[nv:, nv:] += g.weight_centre_of_pressure * (moment @ moment.T)
                    self.term_log.append(("centre of pressure", np.s_[nv:], g.weight_centre_of_pressure * (moment @ moment.T),
                                          np.zeros(n_f)))
"""),
    ("""            hessian[forces, forces] += g.force_regularization
""", """            hessian[forces, forces] += g.force_regularization
            self.term_log.append(("contact forces small", np.s_[nv:], np.diag(np.full(n_f, g.force_regularization)),
                                  np.zeros(n_f)))
"""),
    ("task(jcom, a_com, self._com_weight)", "task(jcom, a_com, self._com_weight, 'com')"),
    ("task(np.vstack([jp, jr]), np.concatenate((lin, ang)), g.weight_foot)",
     "task(np.vstack([jp, jr]), np.concatenate((lin, ang)), g.weight_foot, 'stance feet')"),
    ("""        x = solve_qp(hessian, gradient, nv, limits)
""", """        self.qp_record = (hessian.copy(), gradient.copy(), nv, limits, jcom.copy())
        x = solve_qp(hessian, gradient, nv, limits)
"""),
]
SWING_EDITS = [
    ("task(jp.copy(), acc, weight)", "task(jp.copy(), acc, weight, 'swing feet')"),
    ("level * weight)", "level * weight, 'swing soles level')"),
]


def _instrument() -> None:
    """Replaces control and _swing_task of WholeBodyController by instrumented copies of their own source."""
    from envs.executor import wholebody

    cls = wholebody.WholeBodyController
    for method, edits in (("control", CONTROL_EDITS), ("_swing_task", SWING_EDITS)):
        source = inspect.getsource(getattr(cls, method))  # indented as in the class: the edits are too
        for old, new in edits:
            if source.count(old) != 1:
                raise SystemExit(f"qp_attribution: envs/executor/wholebody.py {method} changed; update the edit for {old.strip()[:60]!r}")
            source = source.replace(old, new)
        namespace: dict = {}
        exec(compile("class Instrumented:\n" + source, f"<instrumented {method}>", "exec"), vars(wholebody), namespace)
        setattr(cls, method, namespace["Instrumented"].__dict__[method])


def _hinge_groups(wb) -> list[str]:
    """Per hinge of the humanoid, its name without side and axis (``spine2``, ``knee``)."""
    import mujoco

    names = []
    for i in range(6, wb.nv):
        joint = mujoco.mj_id2name(wb.model, mujoco.mjtObj.mjOBJ_JOINT, int(wb.model.dof_jntid[wb.dadr + i]))
        names.append((joint[2:] if joint[:2] in ("l_", "r_") else joint).rsplit("_", 1)[0])
    return names


def _terms(wb, n: int, hinges: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The logged terms as full-size (Hessian, gradient) per name; the joints' diagonal split by hinge group
    (``hinges``: _hinge_groups)."""
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(name, rows, h, g):
        hessian, gradient = np.zeros((n, n)), np.zeros(n)
        hessian[rows, rows], gradient[rows] = h, g
        old = out.get(name)
        out[name] = (hessian, gradient) if old is None else (old[0] + hessian, old[1] + gradient)

    for name, rows, h, g in wb.term_log:
        if name != "joints":
            add(name, rows, h, g)
            continue
        weights, nv = np.diag(h), len(g)
        groups: dict[str, list[int]] = {"root position": [0, 1, 2], "root orientation": [3, 4, 5]}
        for i in range(6, nv):
            group = "legs' sagittal hinges" if weights[i] < 0.5 else f"hinges {hinges[i - 6]}"
            groups.setdefault(group, []).append(i)
        for group, idx in groups.items():
            hessian, gradient = np.zeros((n, n)), np.zeros(n)
            hessian[idx, idx], gradient[idx] = weights[idx], g[idx]
            out[group] = (hessian, gradient)
    return out


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

    threadpool_limits(1)
    _instrument()
    executor = _executor(args.set)
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
            hessian, gradient, nv, limits, jcom = self.qp_record
            e = self.mpc.forward[k]

            def along(h, g):
                return float((jcom @ solve_qp(h, g, nv, limits)[:nv])[:2] @ e)

            found = {"asked by the MPC": asked[k], "solved (shipped weights)": along(hessian, gradient)}
            for name, (h, g) in _terms(self, len(gradient), hinges).items():
                for scale in ((10.0, 1000.0) if name == "com" else (0.1,)):  # x1000: what the contacts allow at all
                    found[f"{name} x{scale:g}"] = along(hessian + (scale - 1.0) * h, gradient + (scale - 1.0) * g)
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
