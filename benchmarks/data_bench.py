"""Data-path benchmark (issue: foundation). Prints JSON.

Measures on this machine: parse + retarget of every dataset-1 clip (one process), `data prepare`
of bandai-4 cold and again from the cache with the peak RSS of the whole process tree, and the
procedural synth-8 source (samples and seconds), and the compiled forward kinematics and matrix_to_quat against the
NumPy versions on synth-8 clips in the same run (per-clip time, ratio, identical output). Needs $L2EMG_BANDAI_ROOT for
the Bandai parts.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_with_peak_rss  # noqa: E402

TARGETS = {"dataset1_parse_retarget_s": 30.0, "bandai4_prepare_cold_s": 300.0, "bandai4_prepare_cached_s": 10.0,
           "bandai4_prepare_peak_rss_mb": 4096.0, "synth8_seconds": 60.0, "synth8_min_samples": 2000}


def bench_dataset1(root: Path) -> dict:
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    files = sorted((root / "dataset-1" / "data").glob("*.bvh"))
    t0 = time.perf_counter()
    errors = [retarget(read_bvh(f), JointMap.bandai()).mean_error_m * 100 for f in files]
    seconds = time.perf_counter() - t0
    return {"clips": len(files), "seconds": round(seconds, 2),
            "retarget_error_cm_median": round(float(sorted(errors)[len(errors) // 2]), 4),
            "retarget_error_cm_max": round(max(errors), 4)}


def bench_compiled_kinematics(clips: int = 128) -> dict:
    """synth-8's per-clip processing (generate, pose, featurise) with the compiled FK and matrix_to_quat, then with the
    NumPy versions (``HAVE_NUMBA`` off), alternated over the same clips; the outputs compared bit for bit."""
    import hashlib

    import numpy as np

    import envs.quaternion as quaternion
    import envs.skeleton as skeleton
    from envs.synth import SynthSource
    from policies.data.process import process_synth

    if not quaternion.HAVE_NUMBA:
        return {"skipped": "numba is not installed"}
    keys = list(SynthSource(seed=0).keys())
    keys = keys[:: max(1, len(keys) // clips)][:clips]

    def run(compiled: bool) -> tuple[float, str]:
        quaternion.HAVE_NUMBA = skeleton.HAVE_NUMBA = compiled
        digest, t0 = hashlib.sha256(), time.perf_counter()
        for key in keys:
            clip = process_synth(key)
            digest.update(np.ascontiguousarray(clip.features).tobytes() + np.ascontiguousarray(clip.positions).tobytes())
        return time.perf_counter() - t0, digest.hexdigest()

    try:
        run(True)  # compile (or load the cache) and warm the source's memo
        times = {True: [], False: []}
        digests = set()
        for _ in range(2):
            for compiled in (False, True):
                seconds, digest = run(compiled)
                times[compiled].append(seconds)
                digests.add(digest)
    finally:
        quaternion.HAVE_NUMBA = skeleton.HAVE_NUMBA = True
    numpy_ms, compiled_ms = (min(times[c]) / len(keys) * 1000 for c in (False, True))
    return {"clips": len(keys), "numpy_ms_per_clip": round(numpy_ms, 2), "compiled_ms_per_clip": round(compiled_ms, 2),
            "speedup": round(numpy_ms / compiled_ms, 2), "identical_output": len(digests) == 1}


def bench_prepare(dataset: str, cache: Path, root: Path | None) -> dict:
    cmd = [sys.executable, "-m", "agent.cli", "data", "prepare", "--dataset", dataset, "--cache", str(cache), "--json", "--quiet"]
    if root is not None:
        cmd += ["--root", str(root)]
    cold = run_with_peak_rss(cmd + ["--force"])
    if cold["returncode"] != 0:
        raise RuntimeError(f"prepare {dataset} failed: {cold['stderr']}")
    warm = run_with_peak_rss(cmd)
    summary = json.loads(cold["stdout"])
    return {"cold_s": cold["seconds"], "cold_peak_rss_mb": cold["peak_rss_mb"], "cached_s": warm["seconds"],
            "cached_rebuilt": json.loads(warm["stdout"])["rebuilt"], "clips": summary["num_clips"],
            "samples": summary["num_samples"], "frames": summary["num_frames"], "bad_files": summary["num_bad_files"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", default=os.environ.get("L2EMG_BANDAI_ROOT"), help="Bandai-Namco root")
    ap.add_argument("--skip-bandai", action="store_true")
    args = ap.parse_args()
    import platform

    report: dict = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()}}
    with tempfile.TemporaryDirectory() as tmp:
        synth = bench_prepare("synth-8", Path(tmp), None)
        report["synth8"] = synth
        report["compiled_kinematics"] = bench_compiled_kinematics()
        if args.root and not args.skip_bandai:
            root = Path(args.root)
            report["dataset1_parse_retarget"] = bench_dataset1(root)
            report["bandai4_prepare"] = bench_prepare("bandai-4", Path(tmp), root)
        else:
            report["bandai"] = "skipped: set L2EMG_BANDAI_ROOT or pass --root"
    checks = {"synth8_samples": synth["samples"] >= TARGETS["synth8_min_samples"],
              "synth8_seconds": synth["cold_s"] < TARGETS["synth8_seconds"]}
    if "identical_output" in report["compiled_kinematics"]:
        checks["compiled_kinematics_identical"] = report["compiled_kinematics"]["identical_output"]
    if "bandai4_prepare" in report:
        b, d1 = report["bandai4_prepare"], report["dataset1_parse_retarget"]
        checks.update({
            "dataset1_parse_retarget": d1["seconds"] < TARGETS["dataset1_parse_retarget_s"],
            "bandai4_prepare_cold": b["cold_s"] < TARGETS["bandai4_prepare_cold_s"],
            "bandai4_prepare_cached": b["cached_s"] < TARGETS["bandai4_prepare_cached_s"] and not b["cached_rebuilt"],
            "bandai4_prepare_memory": b["cold_peak_rss_mb"] < TARGETS["bandai4_prepare_peak_rss_mb"],
        })
    report["targets"] = TARGETS
    report["pass"] = checks
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
