"""Where the contact schedule has no foot standing in a walk, and why (issue 18; RESULTS.md, "The float at push-off is
the stance planter's").

No simulation. Per clip: the share of the planted reference's control steps where the schedule
(envs/executor/stepping.contact_schedule) has no foot standing, split by cause -- `height` (no sole corner within
`stepping.contact_height` of the floor level), `speed` (corners that low, all sliding faster than `max_speed`) or
`cleaned` (a still corner, removed as a blip) -- and the share of the planter's stance steps
(envs/executor/stance.py) whose sole ends more than `stance.contact_height` above the floor once planted.

    PYTHONPATH=. python docs/experiments/push_off_float.py path/to/dataset-2_walk_active_006.bvh walk_normal_001
    PYTHONPATH=. python docs/experiments/push_off_float.py path/to/dataset-2/*.bvh --every 12 --set stance.roll_toes=true

Clips are BVH paths or dataset-1 clip names without the prefix (globs allowed: 'walk*'). `--set` takes executor
config overrides (`section.key=value`, comma-separated).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gait_events import _clips, _executor, _motion  # noqa: E402  (a sibling script, not a package)


def read_clip(executor, clip: str) -> dict:
    from envs.executor.stance import stance_sole_heights
    from envs.executor.stepping import contact_schedule

    planted, stance = executor.planted(executor.reference(_motion(clip)))
    cfg, dt = executor.config.stepping, planted.dt
    _, corners = executor.wholebody._feet(planted)
    schedule = contact_schedule(corners, dt, cfg, com_height=planted.com[:, 2])  # as the controller reads it
    down = schedule.down  # the corners low enough, as the schedule read them
    speed = np.linalg.norm(np.gradient(corners[..., :2], dt, axis=0), axis=-1)
    still = down & (speed < cfg.max_speed)
    none = ~schedule.stance.any(axis=1)
    heights = stance_sole_heights(executor.model, executor.qadr, executor.foot_geoms, planted, stance)
    lifted = heights > executor.config.stance.contact_height
    return {"clip": Path(clip).stem, "steps": len(none), "no_foot": float(none.mean()),
            "height": float((none & ~down.any(axis=(1, 2))).mean()),
            "speed": float((none & down.any(axis=(1, 2)) & ~still.any(axis=(1, 2))).mean()),
            "cleaned": float((none & still.any(axis=(1, 2))).mean()),
            "stance_soles_lifted": float(lifted.mean()) if len(lifted) else 0.0}


def _expand(clips: list[str]) -> list[str]:
    """BVH paths as given; dataset-1 names (globs allowed, e.g. 'walk*') expanded to the names they match."""
    out = []
    for clip in clips:
        found = _clips([clip])
        if not found:
            raise SystemExit(f"no dataset-1 clip matches {clip!r} (L2EMG_BANDAI_ROOT's dataset-1/data)")
        out += found
    return sorted(set(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="BVH paths or dataset-1 clip names without the prefix")
    parser.add_argument("--set", default="", help="executor config overrides, e.g. stance.roll_toes=true")
    parser.add_argument("--every", type=int, default=1, help="read every n-th of the clips given")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    executor = _executor(args.set)
    rows = []
    for clip in _expand(args.clips)[::args.every]:
        row = read_clip(executor, clip)
        rows.append(row)
        print(f"{row['clip'][:44]:44s} no foot standing {row['no_foot']:6.1%} (height {row['height']:5.1%}, speed "
              f"{row['speed']:5.1%}, cleaned {row['cleaned']:5.1%}); stance soles lifted {row['stance_soles_lifted']:5.1%}")
    steps = np.array([r["steps"] for r in rows], dtype=float)
    summary = {key: round(float(np.average([r[key] for r in rows], weights=steps)) * 100, 2)
               for key in ("no_foot", "height", "speed", "cleaned", "stance_soles_lifted")}
    print(json.dumps({"clips": len(rows), "set": args.set, "pct_of_steps": summary,
                      "clips_with_no_foot_steps": int(sum(r["no_foot"] > 0 for r in rows))}))


if __name__ == "__main__":
    main()
