"""Calibration figures for the executor's reference checks (sanity) and residual-mode plausibility.

Runs over real Bandai clips (real human motion: nearly all must pass) and prints JSON: per figure its
median, 95th/99th percentile and maximum with the clip that holds it, and every clip a check refuses.
These are the figures quoted in configs/executor.yaml next to ``sanity`` and ``plausibility``.

    L2EMG_BANDAI_ROOT=... OMP_NUM_THREADS=1 python benchmarks/physics_calibration.py --simulate
    ... --datasets dataset-2 --every 5      # every 5th clip of the dataset-2 archive (streamed)

``--simulate`` also runs residual mode on each clip for the force the weld actually applied (slower).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict

import numpy as np


def calibrate(datasets: tuple[str, ...], every: int, simulate: bool, root: str | None = None) -> dict:
    from tqdm import tqdm

    from envs.executor import TrackingExecutor
    from envs.executor.assistance import needed_assistance
    from envs.executor.sanity import check_motion, measure
    from envs.io.bandai import iter_bandai
    from envs.io.bvh import parse_bvh
    from envs.retarget import JointMap, retarget

    ex = TrackingExecutor()
    cfg = ex.config
    rows = []
    t0 = time.perf_counter()
    for i, (clip, text) in enumerate(tqdm(iter_bandai(root, datasets), desc="calibration", unit="clip")):
        if i % every:
            continue
        motion = retarget(parse_bvh(text, clip.clip_id), JointMap.bandai()).motion
        problem = check_motion(motion, cfg.sanity)
        row = {"clip": clip.clip_id, "content": clip.content, **asdict(measure(motion, cfg.sanity)),
               "sanity": None if problem is None else f"{problem.reason}: {problem.detail}"}
        ref = ex.reference(motion)
        need = needed_assistance(ex.model, ex._scratch_data(), ex.qadr, ref, ex.foot_geoms, cfg.plausibility)
        row.update({f"needed_{k}": v for k, v in need.stats(cfg.plausibility).items()})
        row["implausible"] = need.implausible(cfg.plausibility)
        if simulate:
            r = ex.execute(motion, mode="residual", ref=ref)
            row.update({k: getattr(r.metrics, k) for k in ("residual_force_bw", "residual_force_bw_p95",
                                                            "residual_torque_bw_m", "residual_torque_bw_m_p95")})
            row["residual_reason"] = r.reason
        rows.append(row)
    figures = [k for k, v in rows[0].items() if isinstance(v, float)] if rows else []
    out = {"datasets": list(datasets), "every": every, "clips": len(rows), "seconds": round(time.perf_counter() - t0, 1),
           "figures": {k: _spread(rows, k) for k in figures},
           "refused_by_sanity": [(r["clip"], r["sanity"]) for r in rows if r["sanity"]],
           "implausible": [(r["clip"], r["implausible"]) for r in rows if r["implausible"]]}
    if simulate:
        out["residual_reasons"] = {k: sum(r["residual_reason"] == k for r in rows) for k in sorted({r["residual_reason"] for r in rows})}
    out["per_clip"] = rows
    return out


def _spread(rows: list[dict], key: str) -> dict:
    v = np.array([r[key] for r in rows], dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return {"finite": 0}
    i = int(np.nanargmax(np.where(ok, v, -np.inf)))
    return {"median": round(float(np.median(v[ok])), 4), "p95": round(float(np.percentile(v[ok], 95)), 4),
            "p99": round(float(np.percentile(v[ok], 99)), 4), "max": round(float(v[i]), 4), "max_clip": rows[i]["clip"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["dataset-1"])
    ap.add_argument("--every", type=int, default=1, help="take every n-th clip")
    ap.add_argument("--simulate", action="store_true", help="also run residual mode (the weld's applied force)")
    ap.add_argument("--root", help="Bandai-Namco data root (default $L2EMG_BANDAI_ROOT)")
    ap.add_argument("--out", help="also write the full JSON (with per-clip rows) here")
    ap.add_argument("--per-clip", action="store_true", help="print the per-clip rows too")
    args = ap.parse_args(argv)
    report = calibrate(tuple(args.datasets), max(1, args.every), args.simulate, args.root)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
    if not args.per_clip:
        report = {k: v for k, v in report.items() if k != "per_clip"}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
