"""Walking success against the clip's own walking speed (issue 18; RESULTS.md, "Fast walks are the ones lost").

Reads a `sim track` report (per-clip success) and the clips it tracked, and bins the walking clips (walk, walk-back,
walk-left, walk-right, walk-turn-*) by their pelvis's mean speed over the floor (path length / duration, from the
retargeted motion): per bin the clips, the share tracked to the end, and the mean share of the clip lived. Prints
one JSON object; `--plot` also draws each clip (lived share against speed, tracked-to-the-end ones filled) with the
bins' success.

    l2emg sim track --dataset1 --mode none --json --out /tmp/d1.json
    PYTHONPATH=. python docs/experiments/walk_speed.py /tmp/d1.json --plot /tmp/d1_speed.png
    l2emg sim track --dir path/to/dataset-2/data --mode none --json --out /tmp/d2.json
    PYTHONPATH=. python docs/experiments/walk_speed.py /tmp/d2.json --dir path/to/dataset-2/data --bins 5
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from gait_events import _motion  # noqa: E402  (the clip retargeted as the executor reads it)

WALKING_PREFIX = "walk"  # walk, walk-back, walk-left, walk-right, walk-turn-left, walk-turn-right


def clip_speed(path: Path) -> float:
    """m/s: the retargeted pelvis's path length over the floor divided by the clip's duration."""
    motion = _motion(str(path))
    floor = np.asarray(motion.positions)[:, 0][:, [0, 2]]  # Y up: the pelvis over the floor plane
    duration = (len(floor) - 1) / motion.fps
    return float(np.linalg.norm(np.diff(floor, axis=0), axis=1).sum() / duration) if duration > 0 else 0.0


def read(report: dict, folder: Path) -> list[dict]:
    """The walking clips of a report with their speed, success and share lived."""
    rows = []
    for row in report["per_clip"]:
        if not row["content"].startswith(WALKING_PREFIX):
            continue
        path = folder / f"{row['clip']}.bvh"
        if not path.is_file():
            raise SystemExit(f"walk_speed: {path} not found (the report's clip {row['clip']!r}; pass --dir)")
        rows.append({"clip": row["clip"], "content": row["content"], "speed": clip_speed(path),
                     "success": bool(row["success"]), "lived": min(1.0, row["simulated_s"] / row["duration_s"])})
    return rows


def by_speed(rows: list[dict], bins: int) -> list[dict]:
    """Equal-count speed bins: clips, tracked to the end, mean share lived."""
    speed = np.array([r["speed"] for r in rows])
    edges = np.quantile(speed, np.linspace(0.0, 1.0, bins + 1))
    out = []
    for i in range(bins):
        upper = speed <= edges[i + 1] if i == bins - 1 else speed < edges[i + 1]
        inside = [r for r, m in zip(rows, (speed >= edges[i]) & upper) if m]
        out.append({"speed_m_s": [round(float(edges[i]), 2), round(float(edges[i + 1]), 2)], "clips": len(inside),
                    "success_rate": round(float(np.mean([r["success"] for r in inside])), 3) if inside else None,
                    "lived_share": round(float(np.mean([r["lived"] for r in inside])), 3) if inside else None})
    return out


def lost_faster(rows: list[dict]) -> dict:
    """How much faster the lost clips are: P(a lost clip's speed > a tracked one's) (the Mann-Whitney U over both
    counts; 0.5: no relation) and its two-sided p."""
    from scipy.stats import mannwhitneyu

    lost = [r["speed"] for r in rows if not r["success"]]
    kept = [r["speed"] for r in rows if r["success"]]
    if not lost or not kept:
        return {"probability": None, "p": None}
    test = mannwhitneyu(lost, kept, alternative="two-sided")
    return {"probability": round(float(test.statistic) / (len(lost) * len(kept)), 3), "p": float(f"{test.pvalue:.2g}")}


def by_content(rows: list[dict]) -> dict:
    """Per walking content: clips, success rate, mean speed (m/s) of the tracked and of the lost ones."""
    out = {}
    for content in sorted({r["content"] for r in rows}):
        inside = [r for r in rows if r["content"] == content]
        speeds = {k: [r["speed"] for r in inside if r["success"] == v] for k, v in (("tracked", True), ("lost", False))}
        out[content] = {"clips": len(inside), "success_rate": round(float(np.mean([r["success"] for r in inside])), 3),
                        **{f"speed_{k}": round(float(np.mean(v)), 2) if v else None for k, v in speeds.items()}}
    return out


def plot(rows: list[dict], bins: list[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    speed = np.array([r["speed"] for r in rows])
    lived = np.array([r["lived"] for r in rows])
    ok = np.array([r["success"] for r in rows])
    ax.scatter(speed[ok], lived[ok], s=14, color="tab:green", label="tracked to the end")
    ax.scatter(speed[~ok], lived[~ok], s=14, facecolors="none", edgecolors="tab:red", label="lost (share of the clip lived)")
    for b in bins:
        lo, hi = b["speed_m_s"]
        ax.hlines(b["success_rate"], lo, hi, color="black", lw=2)
    ax.plot([], [], color="black", lw=2, label="success rate per speed bin")
    ax.set_xlabel("clip's mean walking speed (m/s)")
    ax.set_ylabel("share")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("report", help="JSON written by `l2emg sim track ... --out`")
    parser.add_argument("--dir", help="the clips' folder (default: dataset-1's under $L2EMG_BANDAI_ROOT)")
    parser.add_argument("--bins", type=int, default=5)
    parser.add_argument("--plot", help="PNG to draw")
    parser.add_argument("--title", help="the plot's title (default: the report's file name)")
    args = parser.parse_args()
    if args.dir:
        folder = Path(args.dir)
    else:
        from envs.io.bandai import bandai_root

        folder = bandai_root(os.environ.get("L2EMG_BANDAI_ROOT")) / "dataset-1" / "data"
    report = json.loads(Path(args.report).read_text())
    rows = read(report, folder)
    if not rows:
        raise SystemExit(f"walk_speed: no walking clips in {args.report}")
    bins = by_speed(rows, args.bins)
    print(json.dumps({"report": args.report, "mode": report.get("mode"), "walking_clips": len(rows),
                      "success_rate": round(float(np.mean([r["success"] for r in rows])), 3), "by_speed": bins,
                      "lost_faster": lost_faster(rows), "by_content": by_content(rows)}))
    if args.plot:
        plot(rows, bins, args.plot, args.title or f"{Path(args.report).name}: {len(rows)} walking clips")


if __name__ == "__main__":
    main()
