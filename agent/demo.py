"""`l2emg demo` before the closed loop exists: prepare the embedded default, show its emotion cues.

Steps: build (or reuse) synth-8, measure the body cues per emotion on the training split and plot
them, render example clips, and retarget + render a real Bandai-Namco clip when the data is present.
"""
from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from envs.atomic import atomic_write_text
from envs.motion.descriptors import body_cues
from envs.render import render_motion


def run_demo(out_dir: Path, quiet: bool = False) -> dict:
    from policies.data import L2EMGDataset, load_dataset_config, prepare

    t0 = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    say = (lambda *a: None) if quiet else print
    config = load_dataset_config("synth-8")
    cache_dir, manifest, rebuilt = prepare(config, progress=not quiet)
    say(f"[1/5] synth-8 {'built' if rebuilt else 'loaded from cache'}: {manifest['num_samples']} samples in {cache_dir}")
    ds = L2EMGDataset(cache_dir)

    per_emotion: dict[str, list[dict]] = defaultdict(list)
    for s in ds.split("train"):
        per_emotion[s.emotion].append(body_cues(ds.positions(s), ds.manifest["fps"]))
    cue_table = {e: {k: round(float(np.mean([c[k] for c in v])), 4) for k in v[0]} for e, v in per_emotion.items()}
    plot = _plot_cues(cue_table, out_dir / "emotion_cues.png")
    say(f"[2/5] body cues per emotion (train split) -> {plot}")
    for e, row in cue_table.items():
        say(f"      {e:10s} head {row['head_height']:.3f} m  speed {row['speed']:.2f} m/s  jerk {row['jerk']:7.1f} m/s^3  lean {row['trunk_lean']:5.1f} deg")

    videos = []
    for emotion in ("sad", "happy", "angry"):
        sample = next(s for s in ds.split("test") if s.emotion == emotion and s.scenario == "daily_life")
        path = render_motion(ds.motion(sample), out_dir / f"synth_{emotion}.mp4", title=sample.texts[0][:60])
        videos.append(str(path))
    say(f"[3/5] rendered {len(videos)} synthetic clips -> {out_dir}")

    physics = _physics_demo(ds, out_dir, say)

    real = None
    root = os.environ.get("L2EMG_BANDAI_ROOT")
    clip = Path(root) / "dataset-1" / "data" / "dataset-1_walk_sad_001.bvh" if root else None
    if clip is not None and clip.is_file():
        from envs.io.bvh import read_bvh
        from envs.retarget import JointMap, retarget

        result = retarget(read_bvh(clip), JointMap.bandai())
        real = {"clip": clip.stem, "retarget_error_cm": round(result.mean_error_m * 100, 3),
                "video": str(render_motion(result.motion, out_dir / "bandai_walk_sad.mp4", title=clip.stem))}
        say(f"[5/5] real Bandai clip {clip.stem}: retarget error {real['retarget_error_cm']} cm -> {real['video']}")
    else:
        say("[5/5] real data skipped: set L2EMG_BANDAI_ROOT to the Bandai-Namco folder to include it")

    summary = {"dataset": {k: manifest[k] for k in ("name", "num_clips", "num_samples", "samples_per_split")},
               "cues_per_emotion": cue_table, "videos": videos, "physics": physics, "bandai": real, "plot": str(plot),
               "seconds": round(time.perf_counter() - t0, 1)}
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=2))
    say(f"demo finished in {summary['seconds']} s; summary in {out_dir / 'summary.json'}")
    return summary


def _physics_demo(ds, out_dir: Path, say) -> dict:
    """Track one generated clip on the MuJoCo humanoid in every assistance mode; render the residual run."""
    from envs.executor import TrackingExecutor

    sample = next(s for s in ds.split("test") if s.emotion == "happy" and s.scenario == "shows")
    motion = ds.motion(sample)
    executor = TrackingExecutor()
    runs = {mode: executor.execute(motion, mode=mode) for mode in ("residual", "none")}
    out = {mode: r.summary() for mode, r in runs.items()}
    say(f"[4/5] physics: '{sample.texts[0]}' tracked on the MuJoCo humanoid")
    for mode, r in runs.items():
        say(f"      {mode:8s} {r.reason:13s} root-relative MPJPE {r.metrics.mpjpe_root_rel_mm:6.1f} mm, "
            f"residual force {r.metrics.residual_force_n:6.1f} N, {r.realtime_factor:4.1f}x real time")
    try:
        from envs.sim_render import render_execution

        out["video"] = str(render_execution(runs["residual"], out_dir / "physics_residual.mp4", reference=motion))
        say(f"      video -> {out['video']}")
    except RuntimeError as exc:
        say(f"      MuJoCo rendering unavailable ({exc})")
    return out


def _plot_cues(table: dict[str, dict[str, float]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    emotions = list(table)
    keys = [("head_height", "head above pelvis (m)"), ("speed", "mean joint speed (m/s)"),
            ("jerk", "mean jerk (m/s³)"), ("trunk_lean", "trunk lean (deg)")]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.4))
    for ax, (key, label) in zip(axes, keys):
        ax.bar(emotions, [table[e][key] for e in emotions], color="#4c72b0")
        ax.set_title(label, fontsize=10)
        ax.tick_params(axis="x", rotation=60, labelsize=8)
        if key == "head_height":
            lo = min(table[e][key] for e in emotions)
            ax.set_ylim(lo * 0.95, None)
    fig.suptitle("synth-8: body cues per emotion (training split)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
