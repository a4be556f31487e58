"""The body's centre-of-mass velocity at the clip's take-offs and landings, against the clip's planned (issue 18;
RESULTS.md, "Thirteen changes screened on dataset-1").

Clips tracked in mode `none`. At each flight of the clip's schedule (no foot standing for longer than
`stepping.mpc.max_gap_s`), the body's horizontal centre-of-mass velocity along the clip's heading less the target's
(the clip's plus the centre-of-mass plan's offset) 0.15 s before the take-off, at it and at the landing; per clip the
medians and the first take-off, then the medians and mean sizes over all flights. A flight is ballistic: the body
keeps the velocity it took off with, so a take-off error stays, and a clip whose own centre of mass changes speed in
the air (not ballistic) leaves the body off by that change at the landing.

    PYTHONPATH=. python docs/experiments/flight_velocity.py 'run*'
    PYTHONPATH=. python docs/experiments/flight_velocity.py 'dash*' path/to/dataset-2_run_active_001.bvh --set stepping.mpc.min_horizon_s=0.1
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _clips, _executor, _motion  # noqa: E402


def _flights(stance: np.ndarray, dt: float, min_s: float) -> list[tuple[int, int]]:
    """(take-off, landing) reference steps of the schedule's runs with no foot standing longer than ``min_s``."""
    from envs.executor.stepping import _runs

    return [(a, b) for a, b in _runs(~stance.any(axis=1), True) if a > 0 and b < len(stance) and (b - a) * dt > min_s]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="dataset-1 clip globs without the prefix, or .bvh paths")
    parser.add_argument("--set", default="", help="executor config overrides, e.g. stepping.mpc.min_horizon_s=0.1")
    args = parser.parse_args()
    import mujoco

    from envs.executor import wholebody

    executor = _executor(args.set)
    velocity: dict[int, np.ndarray] = {}  # reference step -> the body's centre-of-mass velocity at its first solve
    control = wholebody.WholeBodyController.control

    def logged(self, d, k):
        if k not in velocity:
            mujoco.mj_jacSubtreeCom(self.model, d, self._jcom, self.pelvis)
            velocity[k] = self._jcom[:, self.dadr:self.dadr + self.nv] @ d.qvel[self.dadr:self.dadr + self.nv]
        return control(self, d, k)

    wholebody.WholeBodyController.control = logged
    rows: list[tuple[float, float, float]] = []
    try:
        for clip in _clips(args.clips):
            velocity.clear()
            result = executor.execute(_motion(clip), mode="none")
            wb = executor.wholebody
            yaw = 2.0 * np.arctan2(wb.ref.qpos[:, 6], wb.ref.qpos[:, 3])
            heading = np.stack((np.cos(yaw), np.sin(yaw)), axis=1)
            before = int(round(0.15 / wb.ref.dt))

            def error(k: int) -> float:
                if k < 0 or k not in velocity:
                    return float("nan")  # not reached (lost before) or no solve at that step
                return float((velocity[k][:2] - wb.com_vel[k, :2]) @ heading[k])

            mine = [(error(a - before), error(a), error(b))
                    for a, b in _flights(wb.stance, wb.ref.dt, executor.config.stepping.mpc.max_gap_s)]
            rows += mine
            name = Path(clip).stem
            if not mine:
                print(f"{name:40s} {result.reason:14s} no flight")
                continue
            m = np.array(mine)
            print(f"{name:40s} {result.reason:14s} flights {len(m):2d}  median 0.15 s before "
                  f"{np.nanmedian(m[:, 0]):+.2f}  at take-off {np.nanmedian(m[:, 1]):+.2f}  "
                  f"at landing {np.nanmedian(m[:, 2]):+.2f} m/s  "
                  f"first take-off {m[0, 1]:+.2f}", flush=True)
    finally:
        wholebody.WholeBodyController.control = control
    if rows:
        a = np.array(rows)
        size = np.nanmean(np.abs(a), axis=0)
        print(f"{len(a)} flights: median {np.nanmedian(a[:, 0]):+.2f} / {np.nanmedian(a[:, 1]):+.2f} / "
              f"{np.nanmedian(a[:, 2]):+.2f} m/s (0.15 s before / take-off / landing), mean size "
              f"{size[0]:.2f} / {size[1]:.2f} / {size[2]:.2f}")


if __name__ == "__main__":
    main()
