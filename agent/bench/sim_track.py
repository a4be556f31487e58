"""`l2emg sim track --dataset1|--dir|--synth-all`: the physics executor on every clip of Bandai dataset-1, of any BVH
folder or of the procedural source, with success per content (when file names carry it, as Bandai's do; the
procedural source's scenario/family), failure reasons and the reference's feasibility (can the floor support it
at all?)."""
from __future__ import annotations

import multiprocessing as mp
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path

# Gestures made standing (no step in the clip): dataset-1's, then dataset-2's
STANDING_CONTENTS = ("bow", "bye", "byebye", "guide", "respond", "call", "raise-up-both-hands", "raise-up-left-hand",
                     "raise-up-right-hand", "wave-both-hands", "wave-left-hand", "wave-right-hand")
WALKING = ("walk", "walk-back", "walk-left", "walk-right", "walk-turn-left", "walk-turn-right")
BANDAI_NAME = re.compile(r"^dataset-\d+_(?P<content>[a-z0-9-]+)_[a-z0-9-]+_\d+$")


def content_of(stem: str) -> str:
    """The content a file name carries (Bandai's ``dataset-N_{content}_{style}_{id}``), else ``all``."""
    m = BANDAI_NAME.match(stem)
    return m.group("content") if m else "all"


def _track_file(args: tuple[str, str | None, str | None]) -> dict:
    path, mode, joint_map = args
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    motion = retarget(read_bvh(path), JointMap.from_yaml(joint_map) if joint_map else JointMap.bandai()).motion
    row, _ = track_motion(motion, mode)
    row["clip"] = Path(path).stem
    row["content"] = content_of(Path(path).stem)
    return row


_EXECUTOR = None


def track_motion(motion, mode: str | None):
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


def _median_mpjpe(rows: list[dict], digits: int = 1) -> float | None:
    """Median root-relative MPJPE of the clips that have one (a refused reference has none), else None."""
    values = [r["metrics"]["mpjpe_root_rel_mm"] for r in rows if r["metrics"]["mpjpe_root_rel_mm"] is not None]
    return round(statistics.median(values), digits) if values else None


def _split_by_feasibility(rows: list[dict]) -> dict:
    """Success rates apart for references the floor can support (ZMP inside the soles) and the rest."""
    out = {}
    for key, want in (("feasible", True), ("infeasible", False)):
        part = [r for r in rows if r["reference"]["feasible"] == want]
        stand = [r for r in part if r["content"] in STANDING_CONTENTS]
        out[key] = {"clips": len(part), "success_rate": _success_rate(part),
                    "standing_gestures": len(stand), "standing_gesture_success_rate": _success_rate(stand)}
    return out


def use_executor_overrides(changes: dict[str, str], source: str = "--set") -> None:
    """Track with the shipped executor config changed by dotted ``changes`` ({"wholebody.solve_hz": "30"}); the
    workers fork with it. An unknown key or a wrong type is a ConfigError naming it."""
    global _EXECUTOR
    from envs.config import apply_overrides
    from envs.executor import TrackingExecutor, load_executor_config

    _EXECUTOR = TrackingExecutor(apply_overrides(load_executor_config(), changes, source))


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
    from envs.io.bandai import bandai_root

    return track_files(sorted(str(p) for p in (bandai_root(root) / "dataset-1" / "data").glob("*.bvh")), mode, workers)


def track_folder(folder: str | Path, mode: str | None, workers: int = 2, joint_map: str | None = None) -> dict:
    """Every BVH under ``folder`` (retargeted with ``joint_map``, default Bandai-Namco's)."""
    from envs.io.bvh import iter_bvh_folder

    return track_files([str(p) for p in iter_bvh_folder(folder)], mode, workers, joint_map)


def track_files(files: list[str], mode: str | None, workers: int = 2, joint_map: str | None = None) -> dict:
    return _track_jobs(_track_file, [(f, mode, joint_map) for f in files], mode, workers)


def track_synth(scenarios: list[str] | None, mode: str | None, workers: int = 2, emotions: list[str] | None = None,
                variations: int = 1) -> dict:
    """The procedural source's own clips (the demo's data): every family of ``scenarios`` (default: all of
    configs/synth.yaml) in every emotion (or ``emotions``), variations 0..``variations``-1; content
    ``scenario/family``, clip ``scenario/family/emotion`` (``/variation`` when there are several)."""
    if variations < 1:
        raise ValueError(f"variations must be >= 1, got {variations}")
    from envs.synth import SynthSource, load_synth_config

    families = load_synth_config().scenarios
    scenarios = scenarios or list(families)
    unknown = sorted(set(scenarios) - set(families))
    if unknown:
        raise ValueError(f"unknown scenarios {unknown}; configs/synth.yaml has {sorted(families)}")
    emotions = emotions or SynthSource().emotions
    jobs = [(s, f, e, v, mode, variations > 1) for s in scenarios for f in families[s] for e in emotions
            for v in range(variations)]
    return _track_jobs(_track_synth, jobs, mode, workers)


def _track_synth(args: tuple[str, str, str, int, str | None, bool]) -> dict:
    from envs.synth import SynthSource

    scenario, family, emotion, variation, mode, name_variation = args
    row, _ = track_motion(SynthSource().generate(scenario, family, emotion, variation).motion, mode)
    row["clip"] = f"{scenario}/{family}/{emotion}" + (f"/{variation}" if name_variation else "")
    row["content"] = f"{scenario}/{family}"
    return row


def _track_jobs(work, jobs: list[tuple], mode: str | None, workers: int) -> dict:
    from tqdm import tqdm

    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(max(1, workers), initializer=_one_thread) as pool:
        rows = list(tqdm(pool.imap(work, jobs), total=len(jobs), desc="sim track", unit="clip"))
    return _report(rows, mode, t0)


def _report(rows: list[dict], mode: str | None, t0: float) -> dict:
    by_content: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_content[r["content"]].append(r)
    standing = [r for r in rows if r["content"] in STANDING_CONTENTS]
    return {
        "mode": rows[0]["mode"] if rows else mode,
        "clips": len(rows),
        "success_rate": round(sum(r["success"] for r in rows) / max(1, len(rows)), 4),
        "standing_gesture_success_rate": _success_rate(standing),  # None without such clips (not 0)
        "success_rate_per_content": {c: round(sum(r["success"] for r in v) / len(v), 3) for c, v in sorted(by_content.items())},
        "clips_per_content": {c: len(v) for c, v in sorted(by_content.items())},
        # references the floor can support at all (their ZMP within the soles), per content
        "feasible_references_per_content": {c: sum(r["reference"]["feasible"] for r in v) for c, v in sorted(by_content.items())},
        "walking_success_rate": _success_rate([r for r in rows if r["content"] in WALKING]),
        "mpjpe_root_rel_mm_median": _median_mpjpe(rows, 2),
        "mpjpe_root_rel_mm_median_per_content": {c: _median_mpjpe(v) for c, v in sorted(by_content.items())},
        # the simulation's three, then any other (implausible_assistance in residual mode, refused references)
        "failure_reasons": {k: sum(r["reason"] == k for r in rows)
                            for k in ("fell", "tracking_lost", "unstable", *sorted({r["reason"] for r in rows} - {"ok", "fell", "tracking_lost", "unstable"}))},
        # references whose zero-moment point leaves the soles cannot be tracked unassisted by any controller
        "by_reference_feasibility": _split_by_feasibility(rows),
        "seconds": round(time.perf_counter() - t0, 1),
        "per_clip": rows,
    }
