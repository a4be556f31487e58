"""Where the walking MPC's landing shifts come from (issue 18; RESULTS.md, "Physical-model changes and walking-MPC
settings screened on dataset-1").

A clip is tracked in mode `none`; at each reference step the walking MPC plans, the same plan is made again with one
input replaced by the clip's own: the centre of mass and its velocity (the clip's, after the centre-of-mass plan), the
standing soles (the clip's planted soles instead of the body's), or both. A shift that stays with the clip's state but
goes with the clip's soles comes from where the body's feet stand against the clip's feet, not from the clip.

    PYTHONPATH=. python docs/experiments/mpc_shift_sources.py walk-back_sad_001 --from 0.36 --to 0.6
    PYTHONPATH=. python docs/experiments/mpc_shift_sources.py 'walk-back*' --summary

Per step (`--from`/`--to`): the support, each landing's shift along the clip's heading per variant, and how far each
standing sole's centre lies ahead (+) of the clip's. `--summary`: per clip over the plans up to its end or failure, the
share of plans with a landing shifted 0.3 m or more, per variant, and the standing soles' offset along the heading.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _clips, _executor, _motion  # noqa: E402

VARIANTS = ("body", "clip state", "clip soles", "clip state and soles")


def _record(executor) -> list[dict]:
    """Wraps the controller's ``_mpc_plan`` to re-plan each first plan of a reference step with the clip's inputs."""
    from envs.executor.soles import corners_by_foot

    wb, rows = executor.wholebody, []
    shipped = type(wb)._mpc_plan

    def plan_and_replay(self, d, k, com, com_vel):
        plan = shipped(self, d, k, com, com_vel)
        if plan is None or (rows and rows[-1]["k"] == k):
            return plan
        mpc, support, forward = self.mpc, self.support.copy(), self.mpc.forward[k]
        body = corners_by_foot(self.model, d, self.sole_geoms)
        clip = self.schedule.corners[k]
        inputs = {"body": (com, com_vel, body), "clip state": (self.com[k], self.com_vel[k], body),
                  "clip soles": (com, com_vel, clip), "clip state and soles": (self.com[k], self.com_vel[k], clip)}
        shifts = {}
        for name, (c, v, soles) in inputs.items():
            mpc._last = None  # the layout is cached per (step, support); the replays share it but start clean
            again = mpc.plan(k, c, v, support, [soles[f] if support[f] else None for f in range(2)])
            shifts[name] = {} if again is None else {f: float(s @ forward) for f, s in again.shift.items()}
        mpc._last = None
        offsets = [float((body[f, :, :2].mean(0) - clip[f, :, :2].mean(0)) @ forward) if support[f] else np.nan
                   for f in range(2)]
        rows.append({"k": k, "support": support.astype(int), "clip": self.stance[k].astype(int), "shifts": shifts,
                     "offsets": offsets})
        return plan

    wb._mpc_plan = plan_and_replay.__get__(wb)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="dataset-1 clip names without the prefix (globs), or BVH files")
    parser.add_argument("--from", dest="t0", type=float, default=0.0)
    parser.add_argument("--to", dest="t1", type=float, default=float("inf"))
    parser.add_argument("--summary", action="store_true", help="one line per clip instead of one per step")
    parser.add_argument("--set", default="", help="executor config overrides, e.g. stepping.mpc.max_shift=0.6")
    args = parser.parse_args()
    executor = _executor(args.set)
    for clip in _clips(args.clips):
        rows = _record(executor)
        result = executor.execute(_motion(clip), mode="none")
        dt = executor.wholebody.ref.dt
        print(f"{clip}: {result.reason}" + (f" at {result.failed_at_s:.2f} s" if result.failed_at_s else ""))
        if args.summary:
            if not rows:
                print("  no plans (the walking MPC plans only around the clip's steps)")
                continue
            big = {v: np.mean([max([abs(s) for s in r["shifts"][v].values()], default=0.0) >= 0.3 for r in rows])
                   for v in VARIANTS}
            offsets = np.array([o for r in rows for o in r["offsets"] if np.isfinite(o)])
            print(f"  {len(rows)} plans; landings shifted >= 0.3 m: "
                  + ", ".join(f"{v} {100 * big[v]:.0f} %" for v in VARIANTS)
                  + (f"; standing soles ahead of the clip's: median {np.median(offsets):+.3f} m,"
                     f" |.| 90th percentile {np.percentile(np.abs(offsets), 90):.3f} m" if offsets.size else ""))
            continue
        for r in rows:
            t = r["k"] * dt
            if args.t0 <= t <= args.t1:
                shifts = " | ".join(f"{v}: " + (" ".join(f"{f}:{s:+.2f}" for f, s in r["shifts"][v].items()) or "-")
                                    for v in VARIANTS)
                print(f"  {t:5.2f} s support {r['support']} clip {r['clip']} | {shifts} | soles ahead "
                      f"{r['offsets'][0]:+.3f} {r['offsets'][1]:+.3f} m")


if __name__ == "__main__":
    main()
