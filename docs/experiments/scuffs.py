"""Scuffs: a foot the clip swings that touches the floor mid-swing and is taken as support (issue 18; RESULTS.md,
"How much of a dataset-1 figure is noise").

The contact-aware support (stepping.py, ``wait_for_landing``) lets a foot the clip has lifted carry the body while the
other foot does not stand flat on heel and toes. Mid-swing (between 15 and 85 % of the clip's swing) that is a scuff: the
swinging foot has dragged on the floor. This tracks clips in mode ``none`` and counts, per clip, the scuffs (support
events of such a foot, those closer than 0.1 s together counted once) and, for a clip that is lost, those within the
last second before it is lost. A reading, not a test: does a lost walk scuff where a walked one does not?

    PYTHONPATH=. python docs/experiments/scuffs.py 'walk*'
    PYTHONPATH=. python docs/experiments/scuffs.py walk_old_001 walk_sad_002 --set stepping.standing_tilt_deg=12

Reads `$L2EMG_BANDAI_ROOT/dataset-1/data` (a name with a glob: every dataset-1 clip it matches; a BVH path: that
file). Prints one JSON line per clip and a summary (a walked second's chance of a scuff, at the walked clips' rate,
beside the lost clips' last second).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _executor, _motion  # noqa: E402
from push_off_float import _expand  # noqa: E402  (dataset-1 names and globs to clips)

MID_SWING = (0.15, 0.85)  # share of the clip's swing counted as mid-swing
SAME_SCUFF_S = 0.1  # s: support events closer together are one scuff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", help="dataset-1 clip names without the prefix, globs ('walk*') or BVH paths")
    parser.add_argument("--set", default="", help="executor overrides, comma-separated key=value")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    import envs.executor.stepping as stepping

    threadpool_limits(1)
    events: list[float] = []
    support = stepping.StepPlanner.support

    def recording(self, k, in_contact, tilt_deg, heel_and_toes):
        out = support(self, k, in_contact, tilt_deg, heel_and_toes)
        for f in range(2):
            if out[f] and not self.stance[k, f] and MID_SWING[0] < self.phases.progress(k, f) < MID_SWING[1]:
                events.append(k * self.dt)
        return out

    stepping.StepPlanner.support = recording
    executor = _executor(args.set)
    summary = {"clips": 0, "walked": 0, "walked_with_scuffs": 0, "scuffs_in_walked": 0, "walked_s": 0.0, "lost": 0,
               "lost_with_scuff_in_last_s": 0}
    for clip in _expand(args.clips):
        events.clear()
        result = executor.execute(_motion(clip), mode="none")
        times = sorted(set(events))
        scuffs = [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] > SAME_SCUFF_S]
        end = result.failed_at_s
        late = [t for t in scuffs if end is not None and end - 1.0 <= t <= end]
        print(json.dumps({"clip": clip, "reason": result.reason, "failed_at_s": None if end is None else round(end, 2),
                          "scuffs_s": [round(t, 2) for t in scuffs], "in_last_s": len(late)}), flush=True)
        summary["clips"] += 1
        if result.success:
            summary["walked"] += 1
            summary["walked_with_scuffs"] += bool(scuffs)
            summary["scuffs_in_walked"] += len(scuffs)
            summary["walked_s"] += result.simulated_s
        else:
            summary["lost"] += 1
            summary["lost_with_scuff_in_last_s"] += bool(late)
    # A second of a walked clip holds a scuff with this probability (Poisson at its rate): against the lost clips' last second
    rate = summary["scuffs_in_walked"] / max(summary["walked_s"], 1e-9)
    summary["walked_s"] = round(summary["walked_s"], 1)
    summary["walked_second_with_scuff"] = round(1.0 - float(np.exp(-rate)), 3)
    summary["lost_last_second_with_scuff"] = round(summary["lost_with_scuff_in_last_s"] / max(summary["lost"], 1), 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
