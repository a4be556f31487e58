"""Data-path benchmark (issue: foundation). Prints JSON.

Measures on this machine: parse + retarget of every dataset-1 clip (one process), `data prepare`
of bandai-4 cold and again from the cache with the peak RSS of the whole process tree, and the
procedural synth-8 source (samples and seconds). Needs $L2EMG_BANDAI_ROOT for the Bandai parts.
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
        if args.root and not args.skip_bandai:
            root = Path(args.root)
            report["dataset1_parse_retarget"] = bench_dataset1(root)
            report["bandai4_prepare"] = bench_prepare("bandai-4", Path(tmp), root)
        else:
            report["bandai"] = "skipped: set L2EMG_BANDAI_ROOT or pass --root"
    checks = {"synth8_samples": synth["samples"] >= TARGETS["synth8_min_samples"],
              "synth8_seconds": synth["cold_s"] < TARGETS["synth8_seconds"]}
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
