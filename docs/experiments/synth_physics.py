"""The procedural source's own clips (synth-8, the demo's data) tracked unassisted (issue 18; RESULTS.md, "The demo's
own motions cannot be tracked unassisted"): per scenario and motion family, every emotion's variation-0 clip executed
in mode `none`, with the failure reasons, and whether its reference is one the floor can support at all (its ZMP
within `feasibility.zmp_tolerance` of the soles on all but `feasibility.max_outside_fraction` of its steps).

    PYTHONPATH=. python docs/experiments/synth_physics.py                         # all 8 scenarios, ~2.5 min
    PYTHONPATH=. python docs/experiments/synth_physics.py --scenarios daily_life,sports,dance --out synth.json

One process, one thread (the executor's own BLAS limit); prints one line per family and, with ``--out``, writes the
per-clip rows as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    from envs.executor import TrackingExecutor
    from envs.synth import SynthSource, load_synth_config

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scenarios", default="", help="comma-separated (default: all of configs/synth.yaml)")
    p.add_argument("--mode", default="none", choices=("none", "residual", "full"))
    p.add_argument("--out", type=Path, help="per-clip rows as JSON")
    args = p.parse_args(argv)
    families = load_synth_config().scenarios
    scenarios = [s for s in args.scenarios.split(",") if s] or list(families)
    unknown = sorted(set(scenarios) - set(families))
    if unknown:
        p.error(f"unknown scenarios {unknown}; configs/synth.yaml has {sorted(families)}")
    source, ex = SynthSource(), TrackingExecutor()
    f = ex.config.feasibility
    rows: dict[str, dict] = {}
    for scenario in scenarios:
        for family in families[scenario]:
            group = []
            for emotion in source.emotions:
                motion = source.generate(scenario, family, emotion, 0).motion
                ref = ex.reference(motion)
                result = ex.execute(motion, mode=args.mode, ref=ref)
                feasible = ex.feasibility(ref).summary(f.zmp_tolerance, f.max_outside_fraction)
                row = {"success": result.success, "reason": result.reason, "failed_at_s": result.failed_at_s,
                       "duration_s": round(motion.duration, 2), **feasible}
                rows[f"{scenario}/{family}/{emotion}"] = row
                group.append(row)
            reasons = Counter(r["reason"] for r in group if not r["success"])
            print(f"{scenario:16s} {family:13s} tracked {sum(r['success'] for r in group)}/{len(group)}  "
                  f"feasible {sum(r['feasible'] for r in group)}/{len(group)}  ZMP outside (median share of steps) "
                  f"{np.median([r['zmp_outside_fraction'] for r in group]):.2f}  {dict(reasons)}", flush=True)
    total = len(rows)
    print(f"all: tracked {sum(r['success'] for r in rows.values())}/{total}, "
          f"feasible {sum(r['feasible'] for r in rows.values())}/{total} (mode {args.mode})")
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
