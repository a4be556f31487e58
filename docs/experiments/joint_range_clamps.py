"""Where the executor's reference clamps a clip's joint angles to the humanoid's ranges, and what that does to the pose
the body is asked to hold (issue 18; RESULTS.md, "Dashes lose the floor at their first push ...").

``joint_angles`` clamps every hinge to ``envs.skeleton``'s ranges before the reference is built. Over the clips given:
per joint axis clamped by more than ``--tolerance`` degrees in at least 1 % of frames, the range, that share and the
unclamped angle's 1st / 50th / 99th percentiles; then per content the reference's distance from the retargeted clip
(the mean over joints and frames of the distance between the reference's kinematics and the clip's joint positions,
cm) and how much further forward the reference's upper trunk (spine3 -> neck) leans than the clip's (median over
frames, degrees). ``--widen joint:axis:lo:hi`` (repeatable) reads the reference again with that range (the left
joint's; the right one mirrored as ``envs.skeleton`` does) for the second table. No simulation.

    PYTHONPATH=. python docs/experiments/joint_range_clamps.py '*'
    PYTHONPATH=. python docs/experiments/joint_range_clamps.py 'bow*' --widen spine2:x:-45:45 --widen neck:x:-70:50

Reads ``$L2EMG_BANDAI_ROOT/dataset-1/data``; clip patterns as ``gait_events.py`` takes them. Deterministic.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _clips, _executor, _motion  # noqa: E402
from walk_failures import _lean  # noqa: E402


def _widen(specs: list[str]) -> None:
    """Applies ``joint:axis:lo:hi`` ranges to ``envs.skeleton``'s table (this process only)."""
    import envs.skeleton as skeleton

    for spec in specs:
        try:
            joint, axis, lo, hi = spec.split(":")
            index = "xyz".index(axis)
            ranges = list(skeleton._LEFT_LIMITS[joint])
        except (ValueError, KeyError) as exc:
            raise SystemExit(f"joint_range_clamps: --widen {spec!r}: want joint:axis:lo:hi with a joint of "
                             f"envs.skeleton's range table (left side or spine) and axis x, y or z ({exc})")
        ranges[index] = (float(lo), float(hi))
        skeleton._LEFT_LIMITS[joint] = tuple(ranges)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clips", nargs="+", help="dataset-1 clip globs without the prefix, e.g. 'walk*', or '*'")
    parser.add_argument("--tolerance", type=float, default=2.0, help="degrees past the range that count as clamped")
    parser.add_argument("--widen", action="append", default=[], help="joint:axis:lo:hi, e.g. spine2:x:-45:45")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of the tables")
    args = parser.parse_args()
    from envs.executor.reference import joint_angles
    from envs.humanoid import from_mujoco
    from envs.skeleton import JOINT_INDEX, JOINT_NAMES, joint_limits_deg

    clips = _clips(args.clips)
    if not clips:
        raise SystemExit(f"joint_range_clamps: no dataset-1 clip matches {args.clips}")
    limits = joint_limits_deg()[1:]  # the shipped ranges, read before --widen
    _widen(args.widen)
    executor = _executor("")
    unclamped, per_content = [], defaultdict(lambda: {"distance_cm": [], "upper_trunk_lean_deg": []})
    spine3, neck = JOINT_INDEX["spine3"], JOINT_INDEX["neck"]
    for clip in clips:
        motion = _motion(clip)
        unclamped.append(np.degrees(joint_angles(motion, clamp=False)))
        ref = executor.reference(motion)
        step = max(1, int(round(1.0 / (ref.dt * motion.fps))))  # control steps per clip frame
        reached = from_mujoco(ref.positions[::step])
        n = min(len(reached), motion.num_frames)
        # the reference is built on the clip lifted onto the floor: compare shapes, not the height of that lift
        offset = np.median(reached[:n, 0] - motion.positions[:n, 0], axis=0)
        distance = np.linalg.norm(reached[:n] - offset - motion.positions[:n], axis=2).mean()
        lean = [_lean(reached[t], spine3, neck) - _lean(motion.positions[t], spine3, neck) for t in range(n)]
        row = per_content[clip.split("_")[0]]
        row["distance_cm"].append(100.0 * float(distance))
        row["upper_trunk_lean_deg"].append(float(np.median(lean)))
    angles = np.concatenate(unclamped)  # (frames, 21, 3)
    clamped = []
    for j in range(angles.shape[1]):
        for a in range(3):
            x, (lo, hi) = angles[:, j, a], limits[j, a]
            share = float(((x < lo - args.tolerance) | (x > hi + args.tolerance)).mean())
            if share >= 0.01:
                clamped.append({"joint": JOINT_NAMES[j + 1], "axis": "xyz"[a], "range": [float(lo), float(hi)],
                                "share_clamped": round(share, 3),
                                "percentiles_1_50_99": np.percentile(x, [1, 50, 99]).round(1).tolist()})
    contents = {c: {k: round(float(np.median(v)), 2) for k, v in row.items()} | {"clips": len(row["distance_cm"])}
                for c, row in sorted(per_content.items())}
    if args.json:
        print(json.dumps({"clips": len(clips), "frames": len(angles), "widened": args.widen, "clamped": clamped,
                          "reference_vs_clip_median_per_content": contents}))
        return
    print(f"{len(clips)} clips, {len(angles)} frames; joint axes clamped by more than {args.tolerance:g} degrees "
          f"in 1 % of frames or more (shipped ranges):")
    for c in clamped:
        print(f"  {c['joint']:11s} {c['axis']}  range ({c['range'][0]:6.0f}, {c['range'][1]:4.0f})  clamped "
              f"{100 * c['share_clamped']:5.1f} %  unclamped p1 / p50 / p99 {c['percentiles_1_50_99']}")
    print("reference against the clip, median per clip" + (f" (ranges widened: {', '.join(args.widen)})"
                                                             if args.widen else "") + ":")
    for content, row in contents.items():
        print(f"  {content:12s} {row['clips']:3d} clips  joints {row['distance_cm']:4.1f} cm from the clip's, "
              f"upper trunk {row['upper_trunk_lean_deg']:+5.1f} degrees further forward")


if __name__ == "__main__":
    main()
