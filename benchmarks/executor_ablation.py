"""What each part of the unassisted executor is worth: dataset-1 tracked in mode `none` with one part changed at a
time (issue 18; RESULTS.md, "Ablation of the unassisted executor").

    L2EMG_BANDAI_ROOT=... python benchmarks/executor_ablation.py [--variants shipped,no-stepping,...] [--workers 2]
    python benchmarks/executor_ablation.py --dir <a folder of Bandai BVH files> --variants shipped,dcm-plan

Prints one JSON line per variant (success overall, standing gestures, walking, per content, failure reasons, seconds,
and against the shipped configuration the clips gained and lost) and a JSON list at the end. Deterministic: the same
figures on a busy machine (only `seconds` moves). Every variant is the shipped `configs/executor.yaml` with the
overrides listed in VARIANTS; ~45-80 s a variant with 2 workers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# name -> dotted keys of ExecutorConfig set as YAML values (envs.config.apply_overrides, as `--set` does)
VARIANTS: dict[str, dict[str, str]] = {
    "shipped": {},
    "no-stepping": {"stepping.enabled": "false"},  # no schedule, swing task, contact-aware support or push steps
    "no-capture-rule": {"stepping.capture_gain": "0"},  # landings not moved by the capture-point error
    "no-wait-for-landing": {"stepping.wait_for_landing": "false"},
    "no-support-hysteresis": {"stepping.support_hysteresis": "false"},
    "no-push-recovery": {"stepping.push_recovery.enabled": "false"},
    "no-com-plan": {"com_plan.enabled": "false"},  # the centre of mass not shifted to keep the clip's ZMP on the soles
    "dcm-plan": {"stepping.dcm_plan": "true"},  # the centre of mass planned over the schedule's support
    # the walking MPC and the floor windows (shipped since 2026-12-03) off, together and apart
    "no-walking-mpc": {"stepping.mpc.enabled": "false", "stepping.floor_window_s": "0", "stance.floor_window_s": "0"},
    "mpc-without-floor-window": {"stepping.floor_window_s": "0", "stance.floor_window_s": "0"},
    "floor-window-without-mpc": {"stepping.mpc.enabled": "false"},
    "stepping-qp-120hz": {"stepping.solve_hz": "120"},  # the QP's rate around steps (shipped 240 Hz)
    "standing-qp-240hz": {"wholebody.solve_hz": "240"},  # ... and while both feet stand (shipped 60 Hz)
    "standing-qp-30hz": {"wholebody.solve_hz": "30"},  # every other reference step (below the reference's 60 Hz)
    "no-hold-impedance": {"wholebody.hold_impedance": "false"},  # between solves only the solved torques
    "no-implicit-damping": {"wholebody.implicit_damping": "false"},
    "torque-limits-in-qp": {"wholebody.torque_limits": "true"},
    "no-stance-levelling": {"stance.level_soles": "false"},  # stance soles not levelled by ankle IK
    # the legs' sagittal hinges at their full QP weight around steps too (shipped at 0.1 there since 2026-12-03)
    "no-stepping-joint-weights": {"wholebody.joint_weight_stepping": "{}"},
    "no-balance-anchor": {"wholebody.anchor_s": "0"},  # balance targets stay the clip's, not where the feet stand
    "no-centre-of-pressure-task": {"wholebody.weight_centre_of_pressure": "0"},  # the MPC's ZMP only as an acceleration
    "no-angular-momentum-damping": {"wholebody.weight_angular_momentum": "0"},  # the trunk free to fold around steps
    "angular-momentum-always": {"wholebody.angular_momentum_always": "true"},  # ... damped while the clip stands too
    # ... its rate asked of A qacc, A' qvel left out (shipped until 2026-12-06), not of the contact forces' moment
    "angular-momentum-of-accelerations": {"wholebody.angular_momentum_form": "acceleration"},
    "no-mpc-before-flight": {"stepping.mpc.min_horizon_s": "0"},  # no MPC while a flight is in its horizon
    "flat-foot-to-2cm": {"stepping.flat_height": "0"},  # a stance sole held flat until its heel is 2 cm up (not 1 cm)
    "late-landing-kept-still": {"stepping.landing_follows_clip": "false"},  # a late foot goes straight down where aimed
    "mpc-when-still": {"stepping.mpc.plan_still": "true"},  # the MPC plans also while no foot lifts or lands in its horizon
}
RUNS = ("run", "dash", "kick", "punch", "slash")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--root", default=os.environ.get("L2EMG_BANDAI_ROOT"))
    parser.add_argument("--dir", help="every BVH in this folder (Bandai-named) instead of dataset-1, e.g. an extracted "
                                      "dataset-2 or a part of it")
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {list(VARIANTS)}")

    import agent.bench.sim_track as sim_track
    from envs.io.bandai import bandai_root

    folder = Path(args.dir) if args.dir else bandai_root(args.root) / "dataset-1" / "data"
    files = sorted(str(p) for p in folder.glob("*.bvh"))
    if not files:
        raise SystemExit(f"no BVH file in {folder}")
    rows, shipped_ok = [], None
    for name in ["shipped"] + [n for n in names if n != "shipped"]:
        # the workers fork with this executor (sim_track builds one per process only when none is set)
        sim_track.use_executor_overrides(VARIANTS[name], f"variant {name}")
        report = sim_track.track_files(files, "none", args.workers)
        ok = {r["clip"] for r in report["per_clip"] if r["success"]}
        shipped_ok = ok if name == "shipped" else shipped_ok
        row = {"variant": name, "overrides": VARIANTS[name], "clips": report["clips"],
               "success": len(ok), "success_rate": report["success_rate"],
               "standing_gestures": report["standing_gesture_success_rate"],
               "walking": report["walking_success_rate"],
               "runs_kicks_strikes": {c: report["success_rate_per_content"].get(c) for c in RUNS},
               "per_content": report["success_rate_per_content"],
               "failure_reasons": report["failure_reasons"], "seconds": report["seconds"],
               "gained_vs_shipped": len(ok - shipped_ok), "lost_vs_shipped": len(shipped_ok - ok)}
        if name == "shipped" or name in names:
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
