"""Perception benchmark (issue: perception): latency of `perceive` (text + 4 s motion) and the memory
held by the loaded estimators. Prints JSON. Needs `l2emg train perception` first."""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import psutil


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", default="runs/bandai-4/perception")
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args()
    from policies.torch_utils import setup_torch

    setup_torch(0)
    rss0 = psutil.Process().memory_info().rss
    from envs.synth import SynthSource
    from policies.perception import PerceptionEstimator

    est = PerceptionEstimator.load(args.checkpoint)
    motion = SynthSource().generate("daily_life", "walk", "sad", 0).motion
    frames = int(4 * motion.fps)  # a 4 s partner motion (the clip looped if shorter)
    positions = np.concatenate([motion.positions] * (frames // motion.num_frames + 1))[:frames]
    texts = ["I feel so alone since my dog died.", "Let's go, I'm ready for anything!", "The bus is late again, unbelievable!",
             "Could you pass the salt?", "I'm really nervous about tomorrow."]
    for t in texts:  # warm-up
        est.perceive(t, positions)
    rss_loaded = psutil.Process().memory_info().rss
    lat = []
    for i in range(args.repeats):
        t0 = time.perf_counter()
        est.perceive(texts[i % len(texts)] + f" ({i})", positions)  # a new string each time: no text cache hit
        lat.append((time.perf_counter() - t0) * 1000)
    lat = np.array(lat)
    report = {"repeats": args.repeats, "motion_seconds": len(positions) / motion.fps,
              "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 2), "p95": round(float(np.percentile(lat, 95)), 2),
                             "max": round(float(lat.max()), 2)},
              "rss_mb": {"process": round(rss_loaded / 2**20, 1), "estimators": round((rss_loaded - rss0) / 2**20, 1)},
              "targets": {"p95_ms": 50.0, "rss_mb": 800.0}}
    report["pass"] = {"latency": report["latency_ms"]["p95"] < 50.0, "memory": report["rss_mb"]["process"] < 800.0}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
