"""`l2emg sim track|bench`: run the physics executor on clips and report (DESIGN §8)."""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import time
from collections import defaultdict
from pathlib import Path

STANDING_CONTENTS = ("bow", "bye", "byebye", "guide", "respond", "call")


def add_sim_parser(sub) -> None:
    sim = sub.add_parser("sim", help="physics: track motions on the MuJoCo humanoid").add_subparsers(dest="sim_command", required=True)
    track = sim.add_parser("track", help="track one clip or every dataset-1 clip and report physics metrics")
    src = track.add_mutually_exclusive_group(required=True)
    src.add_argument("--bvh", help="a BVH file (retargeted with the Bandai joint map)")
    src.add_argument("--synth", help="SCENARIO/FAMILY/EMOTION[/VARIATION] from the procedural source")
    src.add_argument("--dataset1", action="store_true", help="every clip of Bandai dataset-1 (needs --root or $L2EMG_BANDAI_ROOT)")
    track.add_argument("--root", help="Bandai-Namco data root")
    track.add_argument("--mode", choices=["none", "residual", "full"], default=None, help="root assistance (default: config)")
    track.add_argument("--render", help="write an MP4 of the simulated motion (one clip only)")
    track.add_argument("--workers", type=int, default=2)
    track.add_argument("--json", action="store_true")
    track.add_argument("--out", help="also write the JSON report here")
    track.set_defaults(func=cmd_sim_track)
    bench = sim.add_parser("bench", help="executor speed vs bare mj_step, and memory")
    bench.add_argument("--bvh", help="clip to track (default: a synthetic bow)")
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_sim_bench)


def _track_file(args: tuple[str, str | None]) -> dict:
    path, mode = args
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    motion = retarget(read_bvh(path), JointMap.bandai()).motion
    row, _ = _track(motion, mode)
    row["clip"] = Path(path).stem
    row["content"] = Path(path).stem.split("_")[1]
    return row


_EXECUTOR = None


def _track(motion, mode: str | None):
    """The execution summary of ``motion`` with its reference's feasibility (one reference built for both)."""
    ex = _executor()
    ref = ex.reference(motion)
    result = ex.execute(motion, mode=mode, ref=ref)
    f = ex.config.feasibility
    row = result.summary()
    row["reference"] = ex.feasibility(ref).summary(f.zmp_tolerance, f.max_outside_fraction)
    return row, result


def _success_rate(rows: list[dict]) -> float | None:
    return round(sum(r["success"] for r in rows) / len(rows), 4) if rows else None


def _split_by_feasibility(rows: list[dict]) -> dict:
    """Success rates apart for references the floor can support (ZMP inside the soles) and the rest."""
    out = {}
    for key, want in (("feasible", True), ("infeasible", False)):
        part = [r for r in rows if r["reference"]["feasible"] == want]
        stand = [r for r in part if r["content"] in STANDING_CONTENTS]
        out[key] = {"clips": len(part), "success_rate": _success_rate(part),
                    "standing_gestures": len(stand), "standing_gesture_success_rate": _success_rate(stand)}
    return out


def _executor():
    global _EXECUTOR
    if _EXECUTOR is None:
        from envs.executor import TrackingExecutor

        _EXECUTOR = TrackingExecutor()
    return _EXECUTOR


def _one_thread() -> None:
    """Each worker's BLAS on one thread, for the reference building and feasibility outside ``execute`` too:
    with two workers each spinning a thread per core, dataset-1 ran ~8x slower (the pool forks after numpy
    has started its thread pool)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def track_dataset1(root: str | None, mode: str | None, workers: int = 2) -> dict:
    from tqdm import tqdm

    from envs.io.bandai import bandai_root

    files = sorted(str(p) for p in (bandai_root(root) / "dataset-1" / "data").glob("*.bvh"))
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(max(1, workers), initializer=_one_thread) as pool:
        rows = list(tqdm(pool.imap(_track_file, [(f, mode) for f in files]), total=len(files), desc="sim track", unit="clip"))
    by_content: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_content[r["content"]].append(r)
    standing = [r for r in rows if r["content"] in STANDING_CONTENTS]
    rel = [r["metrics"]["mpjpe_root_rel_mm"] for r in rows if r["metrics"]["mpjpe_root_rel_mm"] is not None]
    return {
        "mode": rows[0]["mode"] if rows else mode,
        "clips": len(rows),
        "success_rate": round(sum(r["success"] for r in rows) / max(1, len(rows)), 4),
        "standing_gesture_success_rate": round(sum(r["success"] for r in standing) / max(1, len(standing)), 4),
        "success_rate_per_content": {c: round(sum(r["success"] for r in v) / len(v), 3) for c, v in sorted(by_content.items())},
        "mpjpe_root_rel_mm_median": round(statistics.median(rel), 2) if rel else None,
        "mpjpe_root_rel_mm_median_per_content": {c: round(statistics.median([r["metrics"]["mpjpe_root_rel_mm"] for r in v]), 1) for c, v in sorted(by_content.items())},
        # the simulation's three, then any other (implausible_assistance in residual mode, refused references)
        "failure_reasons": {k: sum(r["reason"] == k for r in rows)
                            for k in ("fell", "tracking_lost", "unstable", *sorted({r["reason"] for r in rows} - {"ok", "fell", "tracking_lost", "unstable"}))},
        # references whose zero-moment point leaves the soles cannot be tracked unassisted by any controller
        "by_reference_feasibility": _split_by_feasibility(rows),
        "seconds": round(time.perf_counter() - t0, 1),
        "per_clip": rows,
    }


def cmd_sim_track(args: argparse.Namespace) -> int:
    if args.dataset1:
        report = track_dataset1(args.root, args.mode, args.workers)
    else:
        from agent.cli import load_motion_arg

        motion, title = load_motion_arg(args)
        report, result = _track(motion, args.mode)
        report["clip"] = title
        if args.render:
            from envs.sim_render import render_execution

            report["video"] = str(render_execution(result, args.render, reference=motion))
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text)
    if args.json:
        print(text)
    else:
        brief = {k: v for k, v in report.items() if k != "per_clip"}
        print(json.dumps(brief, indent=2))
    return 0


def cmd_sim_bench(args: argparse.Namespace) -> int:
    from agent.sim_bench import run_sim_bench

    if args.bvh:
        from envs.io.bvh import read_bvh
        from envs.retarget import JointMap, retarget

        motion = retarget(read_bvh(args.bvh), JointMap.bandai()).motion
    else:
        from envs.synth import SynthSource

        motion = SynthSource().generate("daily_life", "bow", "neutral", 0).motion
    report = run_sim_bench(motion, args.repeats)
    print(json.dumps(report, indent=2))
    return 0
