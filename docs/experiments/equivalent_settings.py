"""How much of a `sim track` figure is noise: the shipped executor beside settings no one could tell from it (issue 18;
RESULTS.md, "How much of a dataset-1 figure is noise").

One gain (default `wholebody.kp_joint`) is moved by tiny relative offsets (0.1 % of a joint's stiffness means nothing
physically) and the clips are tracked in mode ``none`` at each. Whether a clip is tracked to its end turns on details
this small: the spread of the counts over these draws is the noise a single run's figure carries, and a setting whose
difference from the shipped one is inside it is not measured as better or worse by that run. Prints one JSON line per
draw and a summary: per figure (all clips, walking contents, standing gestures) the shipped count, the mean, standard
deviation, least and most over the perturbed draws; per draw the clips gained and lost against the shipped run; and the
clips whose outcome changes between draws, by content.

    PYTHONPATH=. python docs/experiments/equivalent_settings.py                       # dataset-1, ten draws
    PYTHONPATH=. python docs/experiments/equivalent_settings.py --offsets=-1e-3,1e-3 --dir path/to/dataset-2/data

Reads `$L2EMG_BANDAI_ROOT/dataset-1/data` (`--dir`: any folder of Bandai BVH files). Uses `--workers` processes.
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np

DEFAULT_OFFSETS = "-5e-3,-3e-3,-2e-3,-1e-3,1e-4,1e-3,2e-3,3e-3,5e-3,1e-2"


def _value(key: str) -> float:
    """The shipped value of the dotted executor config ``key``."""
    from envs.executor.config import load_executor_config

    node = load_executor_config()
    for part in key.split("."):
        node = getattr(node, part)
    return float(node)


def _figures(report: dict) -> dict:
    from agent.bench.sim_track import STANDING_CONTENTS, WALKING

    rows = report["per_clip"]
    return {"all": sum(r["success"] for r in rows),
            "walking": sum(r["success"] for r in rows if r["content"] in WALKING),
            "standing": sum(r["success"] for r in rows if r["content"] in STANDING_CONTENTS)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--key", default="wholebody.kp_joint", help="the executor config key moved (dotted)")
    parser.add_argument("--offsets", default=DEFAULT_OFFSETS, help="relative offsets, comma-separated")
    parser.add_argument("--dir", default=None, help="a folder of Bandai BVH files (default: dataset-1's)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from agent.bench import sim_track
    from envs.io.bandai import bandai_root

    folder = Path(args.dir) if args.dir else bandai_root(os.environ.get("L2EMG_BANDAI_ROOT")) / "dataset-1" / "data"
    files = sorted(str(p) for p in folder.glob("*.bvh"))
    if not files:
        raise SystemExit(f"equivalent_settings: no .bvh files in {folder}")
    shipped = _value(args.key)
    offsets = [0.0] + [float(x) for x in args.offsets.split(",") if x]
    draws: list[dict] = []
    content: dict[str, str] = {}  # clip -> its content, from the first draw
    for offset in offsets:
        value = shipped * (1.0 + offset)
        sim_track.use_executor_overrides({args.key: repr(value)}, "equivalent_settings")
        report = sim_track.track_files(files, "none", args.workers)
        success = {r["clip"]: bool(r["success"]) for r in report["per_clip"]}
        content = content or {r["clip"]: r["content"] for r in report["per_clip"]}
        draw = {"offset": offset, "value": value, **_figures(report), "success": success}
        if draws:
            base = draws[0]["success"]
            draw["gained"] = sorted(c for c in success if success[c] and not base[c])
            draw["lost"] = sorted(c for c in success if base[c] and not success[c])
        draws.append(draw)
        print(json.dumps({k: v for k, v in draw.items() if k != "success"}), flush=True)
    perturbed = draws[1:]
    summary: dict = {"key": args.key, "shipped_value": shipped, "clips": len(files), "draws": len(perturbed)}
    for figure in ("all", "walking", "standing"):
        counts = np.array([d[figure] for d in perturbed], dtype=float)
        summary[figure] = {"shipped": draws[0][figure], "mean": round(float(counts.mean()), 2) if len(counts) else None,
                           "sd": round(float(counts.std(ddof=1)), 2) if len(counts) > 1 else None,
                           "min": int(counts.min()) if len(counts) else None,
                           "max": int(counts.max()) if len(counts) else None}
    varying = [c for c in draws[0]["success"] if len({d["success"][c] for d in draws}) > 1]
    summary["clips_changing_outcome"] = len(varying)
    summary["changing_by_content"] = dict(sorted(Counter(content[c] for c in varying).items()))
    summary["flips_per_draw"] = {f"{d['offset']:g}": [len(d["gained"]), len(d["lost"])] for d in perturbed}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
