"""The contact schedule read from a clip against foot-contact labels, per control step and foot (issue 18; see
README.md beside this file and RESULTS.md, "The contact schedule against the body's contacts").

Labels (`--labels`):
- `body`: the feet's MuJoCo contacts with the floor while the body tracks the clip unassisted (mode none), read
  after each control step;
- `residual`: the same while it tracks with root assistance (mode residual);
- `height`: some sole corner of the planted reference below `--height` m (no simulation);
- `hml3d`: HumanML3D's foot contacts of the clip itself (its ankle or toe joint moving less than sqrt(0.002) m per
  frame at 20 fps, the rule of its 263-d features, `envs/motion/features.py`), each control step reading the clip
  frame it falls in (no simulation);
- `plan`: with `--synth`, the foot contacts the procedural gait was built with (`SynthClip.planned_contacts`:
  synth-8's feet are placed first, a clean walk whose contacts are known), each control step reading its clip frame.

    PYTHONPATH=. python docs/experiments/contact_agreement.py walk_not-confident_002 --labels body --show
    PYTHONPATH=. python docs/experiments/contact_agreement.py 'walk_*' --labels residual
    PYTHONPATH=. python docs/experiments/contact_agreement.py 'walk*' --labels hml3d
    PYTHONPATH=. python docs/experiments/contact_agreement.py --synth daily_life/walk --labels plan

Prints one JSON line per clip (agreement, and with `body`/`residual` the agreement with the labels shifted 1..8
steps later: a body that lands late) and a JSON summary. `--show` draws both as S/. strings per foot.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pattern", nargs="?", help="dataset-1 clip name or glob without the prefix, e.g. 'walk_*'")
    parser.add_argument("--synth", metavar="SCENARIO/FAMILY",
                        help="instead: synth-8's clips of this family, every emotion, variations 0-2")
    parser.add_argument("--labels", choices=("body", "residual", "height", "hml3d", "plan"), default="body")
    parser.add_argument("--height", type=float, default=0.01, help="m, for --labels height")
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    from envs.executor import TrackingExecutor
    from envs.executor.stepping import contact_schedule

    threadpool_limits(1)
    if (args.pattern is None) == (args.synth is None):
        raise SystemExit("give a dataset-1 clip pattern or --synth SCENARIO/FAMILY (one of them)")
    if args.labels == "plan" and not args.synth:
        raise SystemExit("--labels plan needs --synth: only procedural clips know the contacts they were made with")
    executor = TrackingExecutor()
    agreements = []
    for name, motion, planned in _clips(args):
        planted, _ = executor.planted(executor.reference(motion))
        _, corners = executor.wholebody._feet(planted)  # the corners the schedule is read from
        schedule = contact_schedule(corners, planted.dt, executor.config.stepping, com_height=planted.com[:, 2]).stance
        row: dict = {"clip": name}
        frame = np.minimum((np.arange(len(schedule)) * planted.dt * motion.fps + 1e-9).astype(int),
                           motion.num_frames - 1)  # the clip frame each control step falls in
        if args.labels == "height":
            labels = corners[..., 2].min(axis=2) < args.height
        elif args.labels == "hml3d":
            labels = _hml3d_contacts(motion, len(schedule), planted.dt)
        elif args.labels == "plan":
            labels = planned[frame]
        else:
            seen: list[np.ndarray] = []
            on_floor = executor.wholebody.foot_geoms_on_floor  # heels, then toes: what the controller reads
            executor.hooks = [lambda d, k: seen.append(on_floor(d))]
            result = executor.execute(motion, mode="none" if args.labels == "body" else "residual")
            executor.hooks = []
            # the hook runs before step k: what step k-1 left; the last step's contacts are read after the loop
            touching = np.array(seen[1:] + [on_floor(executor.data)])
            steps = int(round(result.simulated_s / planted.dt))  # a step that blew up ran its hook, not its physics
            labels = (touching[:, :2] | touching[:, 2:])[:steps]
            row.update(reason=result.reason, steps=len(labels), of=len(schedule))
            row["agreement_if_labels_lag_steps"] = {
                lag: round(float((labels[lag:] == schedule[:len(labels) - lag]).mean()) * 100, 1)
                for lag in range(1, 9) if len(labels) > lag}
        n = len(labels)
        row["agreement_pct"] = round(float((labels == schedule[:n]).mean()) * 100, 1)
        row["schedule_stance_label_off_pct"] = round(float((schedule[:n] & ~labels).mean()) * 100, 1)
        row["schedule_swing_label_on_pct"] = round(float((~schedule[:n] & labels).mean()) * 100, 1)
        agreements.append(row["agreement_pct"])
        print(json.dumps(row), flush=True)
        if args.show:
            for f, side in enumerate(("left", "right")):
                print(f"{side:5s} schedule ", "".join("S" if x else "." for x in schedule[:n, f]))
                print(f"{side:5s} labels   ", "".join("S" if x else "." for x in labels[:, f]))
    print(json.dumps({"clips": len(agreements), "labels": args.labels, "agreement_pct_median": round(float(np.median(agreements)), 1),
                      "agreement_pct_min": float(np.min(agreements)), "agreement_pct_max": float(np.max(agreements))}))


def _clips(args: argparse.Namespace):
    """(name, motion, planned contacts (frames, 2) or None) per clip the arguments select."""
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    if args.synth:
        from envs.synth import SynthSource

        scenario, family = args.synth.split("/")
        source = SynthSource()
        for emotion in source.emotions:
            for variation in range(3):
                clip = source.generate(scenario, family, emotion, variation)
                if clip.planned_contacts is None:
                    raise SystemExit(f"synth family {family!r} places no feet (not a gait): it has no planned contacts")
                yield clip.clip_id, clip.motion, clip.planned_contacts
        return
    root = Path(os.environ.get("L2EMG_BANDAI_ROOT", "")) / "dataset-1" / "data"
    files = sorted(root.glob(f"dataset-1_{args.pattern}.bvh"))
    if not files:
        raise SystemExit(f"no dataset-1 clip matches {args.pattern!r} under {root} (set L2EMG_BANDAI_ROOT)")
    for path in files:
        yield path.stem.removeprefix("dataset-1_"), retarget(read_bvh(path), JointMap.bandai()).motion, None


def _hml3d_contacts(motion, steps: int, dt: float) -> np.ndarray:
    """(steps, 2) HumanML3D's foot contacts of ``motion`` (left, right) at each control step of ``dt``: a foot is in
    contact over a frame when its ankle or toe joint moves less than the features' threshold then (resampled to
    20 fps first, the rate the threshold is set for; ``envs.motion.features.foot_contacts``)."""
    from envs.motion.features import foot_contacts
    from envs.skeleton import FOOT_JOINTS_LEFT, FOOT_JOINTS_RIGHT
    from envs.motion.motion import CANONICAL_FPS

    pos = motion.resample(CANONICAL_FPS).positions
    per_frame = np.stack([foot_contacts(pos, FOOT_JOINTS_LEFT).any(axis=1),
                          foot_contacts(pos, FOOT_JOINTS_RIGHT).any(axis=1)], axis=1)
    index = np.minimum((np.arange(steps) * dt * CANONICAL_FPS).astype(int), len(per_frame) - 1)
    return per_frame[index]


if __name__ == "__main__":
    main()
