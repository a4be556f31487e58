"""Dataset-1 clips tracked in mode none and read at the moment they fail (issue 18; see README.md beside this file).

For each clip: the reason and time of failure and, at the last simulated frame against the clip's frame then, the
lean of three segments from vertical (pelvis -> neck, pelvis -> spine1, spine3 -> neck), the thighs' lean, the
pelvis height, the heading difference, the pelvis's distance from the clip's (along the clip's path: + ahead; across
it: + to the left) and which way the body left the clip (``lost``: behind, ahead or sideways, by the larger of the two;
counted over the clips lost in the summary's ``lost_by_direction``).
Overrides of the executor config (`--stepping`, `--wholebody`, `--stance`, as Python dicts) and a QP joint weight for the torso
hinges (`--torso-weight`) make the variants of RESULTS.md ("Read at the moment of failure").

    PYTHONPATH=. python docs/experiments/walk_failures.py 'walk*' --every 3                  # the dev walks
    PYTHONPATH=. python docs/experiments/walk_failures.py 'walk*' --every 3 --offset 1       # the held-out third
    PYTHONPATH=. python docs/experiments/walk_failures.py 'walk*' --every 3 --torso-weight 30 \\
        --stepping "{'capture_gain': 1.5, 'max_adjust': 0.4}"
    PYTHONPATH=. python docs/experiments/walk_failures.py run --every 1 --per-clip
    PYTHONPATH=. python docs/experiments/walk_failures.py 'walk*' --dir path/to/dataset-2/data --every 4

Reads `$L2EMG_BANDAI_ROOT/dataset-1/data` (`--dir`: another folder of Bandai BVH files). Prints one JSON summary (clips, tracked to the end, mean survival,
reasons) and with `--per-clip` one JSON line per clip before it. Deterministic: the same figures on a busy machine.
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

TORSO = ("spine1", "spine2", "spine3", "neck", "head")


def _lean(p: np.ndarray, a: int, b: int) -> float:
    """Degrees from vertical of the segment a -> b (Y up)."""
    v = p[b] - p[a]
    return float(np.degrees(np.arctan2(np.hypot(v[0], v[2]), v[1])))


def _heading(p: np.ndarray, left: int, right: int) -> float:
    v = p[left] - p[right]
    return float(np.degrees(np.arctan2(v[2], v[0])))


def read_failure(result, motion) -> dict:
    """The body against the clip at the last simulated frame of ``result`` (positions at the clip's fps)."""
    from envs.skeleton import JOINT_INDEX as J

    n = len(result.positions) - 1
    body, clip = result.positions[n], motion.positions[min(n, motion.num_frames - 1)]
    before = motion.positions[max(0, min(n, motion.num_frames - 1) - 15), 0, [0, 2]]
    path = clip[0, [0, 2]] - before
    path = path / max(float(np.linalg.norm(path)), 1e-6)
    error = body[0, [0, 2]] - clip[0, [0, 2]]
    along, across = float(error @ path), float(error @ np.array((-path[1], path[0])))
    pair = lambda f: [round(f(body), 1), round(f(clip), 1)]  # noqa: E731 (body, clip)
    return {"lean_pelvis_neck": pair(lambda p: _lean(p, J["pelvis"], J["neck"])),
            "lean_pelvis_spine1": pair(lambda p: _lean(p, J["pelvis"], J["spine1"])),
            "lean_spine3_neck": pair(lambda p: _lean(p, J["spine3"], J["neck"])),
            "lean_thighs": [[round(_lean(p, J[f"{s}_knee"], J[f"{s}_hip"]), 1) for s in "lr"] for p in (body, clip)],
            "pelvis_height": [round(float(body[0, 1]), 3), round(float(clip[0, 1]), 3)],
            "heading_diff_deg": round((_heading(body, J["l_hip"], J["r_hip"]) - _heading(clip, J["l_hip"], J["r_hip"])
                                       + 180.0) % 360.0 - 180.0, 1),
            "pelvis_distance_m": round(float(np.linalg.norm(error)), 3),
            "pelvis_along_path_m": round(along, 3), "pelvis_across_path_m": round(across, 3),
            "lost": _direction(along, across) if n else None}


def _direction(along: float, across: float) -> str:
    """Which way the body left the clip: ``behind`` / ``ahead`` along the clip's path or ``sideways``, by the
    larger of the pelvis's two horizontal errors (``along``: + ahead)."""
    if abs(across) > abs(along):
        return "sideways"
    return "ahead" if along > 0 else "behind"


def _override(config, changes: dict):
    """``config`` with ``changes`` (a nested dict for a nested section), through the project's validated
    ``--set`` path (envs.config.apply_overrides)."""
    import yaml

    from envs.config import apply_overrides

    def dotted(tree: dict, prefix: str = "") -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                out.update(dotted(value, f"{prefix}{key}."))
            else:
                out[f"{prefix}{key}"] = yaml.safe_dump(value)
        return out

    return apply_overrides(config, dotted(changes), "walk_failures")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pattern", help="content glob of dataset-1 file names, e.g. 'walk*' or run")
    parser.add_argument("--every", type=int, default=1, help="every n-th clip of the sorted list")
    parser.add_argument("--offset", type=int, default=0, help="the first clip taken")
    parser.add_argument("--stepping", default="{}", help="overrides of stepping: (a Python dict)")
    parser.add_argument("--wholebody", default="{}", help="overrides of wholebody: (a Python dict)")
    parser.add_argument("--stance", default="{}", help="overrides of stance: (a Python dict)")
    parser.add_argument("--torso-weight", type=float, default=None,
                        help="QP joint weight of the spine, neck and head hinges (shipped: 1, as every hinge)")
    parser.add_argument("--physics-hz", type=float, default=240.0, help="the physics rate (1 / the humanoid's timestep)")
    parser.add_argument("--torque-scale", type=float, default=1.0, help="every actuator's torque limit times this")
    parser.add_argument("--per-clip", action="store_true", help="also one JSON line per clip")
    parser.add_argument("--dir", default=None, help="read the BVH files of this folder (any Bandai dataset's) instead of dataset-1's")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from envs.executor import TrackingExecutor
    from envs.executor.config import load_executor_config
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    threadpool_limits(1)
    root = Path(args.dir) if args.dir else Path(os.environ.get("L2EMG_BANDAI_ROOT", "")) / "dataset-1" / "data"
    files = sorted(root.glob(f"dataset-*_{args.pattern}_*.bvh"))[args.offset::args.every]
    if not files:
        raise SystemExit(f"no dataset-1 clip matches {args.pattern!r} under {root} (set L2EMG_BANDAI_ROOT)")
    cfg = load_executor_config()
    cfg = dataclasses.replace(cfg, stepping=_override(cfg.stepping, ast.literal_eval(args.stepping)),
                              wholebody=_override(cfg.wholebody, ast.literal_eval(args.wholebody)),
                              stance=_override(cfg.stance, ast.literal_eval(args.stance)))
    humanoid = None
    if args.torque_scale != 1.0 or args.physics_hz != 240.0:
        from envs.humanoid import load_humanoid_config

        base = load_humanoid_config()
        humanoid = dataclasses.replace(base, torque_limit={j: v * args.torque_scale for j, v in base.torque_limit.items()},
                                       timestep=1.0 / args.physics_hz)
    executor = TrackingExecutor(cfg, humanoid)
    if args.torso_weight is not None:
        for i, name in enumerate(executor.spec.joint_names):
            if name.rsplit("_", 1)[0] in TORSO:
                executor.wholebody._joint_weight[6 + i] = args.torso_weight
                executor.wholebody._joint_weight_stepping[6 + i] = args.torso_weight
    rows = []
    for path in files:
        motion = retarget(read_bvh(path), JointMap.bandai()).motion
        result = executor.execute(motion, mode="none")
        survived = result.failed_at_s if result.failed_at_s is not None else result.duration_s
        row = {"clip": path.stem.removeprefix("dataset-1_"), "reason": result.reason, "survived_s": round(survived, 2),
               "duration_s": round(result.duration_s, 2)}
        if result.positions is not None and len(result.positions) > 2:
            row.update(read_failure(result, motion))
        rows.append(row)
        if args.per_clip:
            print(json.dumps(row), flush=True)
    print(json.dumps({"clips": len(rows), "tracked_to_the_end": sum(r["reason"] == "ok" for r in rows),
                      "mean_survival_s": round(float(np.mean([r["survived_s"] for r in rows])), 2),
                      "mean_share_survived": round(float(np.mean([r["survived_s"] / r["duration_s"] for r in rows])), 3),
                      "reasons": {k: sum(r["reason"] == k for r in rows) for k in sorted({r["reason"] for r in rows})},
                      "lost_by_direction": {k: sum(r["reason"] != "ok" and r.get("lost") == k for r in rows)
                                            for k in ("behind", "ahead", "sideways")}}))


if __name__ == "__main__":
    main()
