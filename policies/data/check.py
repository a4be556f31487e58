"""`l2emg data check`: load every clip of a source, retarget, round-trip the features, report."""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.io.bandai import bandai_root
from policies.data.builder import iter_processed
from policies.data.config import DatasetConfig


def check_source(config: DatasetConfig, root: str | Path | None = None, workers: int | None = None,
                 progress: bool = True) -> dict:
    """A report of every clip the source holds: counts, per-clip retarget/round-trip error, bad files."""
    t0 = time.perf_counter()
    root_path = bandai_root(root) if config.source == "bandai" else None
    per_clip, bad = [], []
    loaded_per_dataset: Counter = Counter()
    for clip in tqdm(iter_processed(config, root_path, workers), desc=f"check {config.name}", unit="clip",
                     disable=not progress, mininterval=1.0):
        if not clip.ok:
            bad.append({"clip_id": clip.clip_id, "error": clip.error})
            continue
        loaded_per_dataset[clip.source] += 1
        if config.source == "bandai":
            scenario = config.scenario_of(clip.content)
            emotion = config.style_emotion.get(clip.style)
        else:
            scenario, emotion = clip.extra["scenario"], clip.style
        per_clip.append({
            "clip_id": clip.clip_id, "dataset": clip.source, "content": clip.content, "style": clip.style,
            "scenario": scenario, "emotion": emotion, "frames": clip.frames_source, "fps": clip.source_fps,
            "retarget_error_cm": None if clip.retarget_error_cm is None else round(clip.retarget_error_cm, 4),
            "feature_roundtrip_mm": round(clip.roundtrip_error_mm, 5),
        })
    retarget = np.array([c["retarget_error_cm"] for c in per_clip if c["retarget_error_cm"] is not None])
    roundtrip = np.array([c["feature_roundtrip_mm"] for c in per_clip])
    return {
        "source": config.source,
        "dataset": config.name,
        "root": str(root_path) if root_path else None,
        "clips_loaded": len(per_clip),
        "clips_per_dataset": dict(sorted(loaded_per_dataset.items())),
        "bad_files": bad,
        "counts": {
            "scenario": dict(sorted(Counter(str(c["scenario"]) for c in per_clip).items())),
            "emotion": dict(sorted(Counter(c["emotion"] or "none (persona)" for c in per_clip).items())),
            "content": dict(sorted(Counter(c["content"] for c in per_clip).items())),
        },
        "retarget_error_cm": _summary(retarget),
        "feature_roundtrip_mm": _summary(roundtrip),
        "seconds": round(time.perf_counter() - t0, 2),
        "clips": per_clip,
    }


def _summary(x: np.ndarray) -> dict | None:
    if x.size == 0:
        return None
    return {"median": round(float(np.median(x)), 4), "mean": round(float(x.mean()), 4),
            "p95": round(float(np.percentile(x, 95)), 4), "max": round(float(x.max()), 4)}
