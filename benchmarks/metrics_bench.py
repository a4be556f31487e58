"""Metric-suite benchmark (issue: tokenizer/evaluator/metrics). Prints JSON.

Times the whole generation-metric suite (FID, R-Precision, MM-Dist, Diversity, MultiModality,
emotion weighted F1) on 1,000 "generated" motions: test-split motions passed through the trained
tokenizer (encode -> decode), which is what a generator's output looks like to the metrics.
Needs trained checkpoints (`l2emg train tokenizer|evaluator|emotion`).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", default="bandai-4")
    ap.add_argument("--runs", default="runs", help="folder holding <dataset>/{tokenizer,evaluator,emotion}")
    ap.add_argument("--count", type=int, default=1000)
    args = ap.parse_args()
    from feedback.generation_metrics import GenerationMetrics
    from policies.data import L2EMGDataset, load_dataset_config, prepare
    from policies.emotion import MotionEmotionClassifier
    from policies.evaluator import MotionTextEvaluator
    from policies.tokenizer import VQTokenizer
    from policies.torch_utils import setup_torch

    setup_torch(0)
    ds = L2EMGDataset(prepare(load_dataset_config(args.dataset), progress=False)[0])
    runs = Path(args.runs) / args.dataset
    tok = VQTokenizer.load(runs / "tokenizer")
    suite = GenerationMetrics(MotionTextEvaluator.load(runs / "evaluator"), MotionEmotionClassifier.load(runs / "emotion"))
    rng = np.random.default_rng(0)
    pool = ds.split("test")
    picks = [pool[i] for i in rng.choice(len(pool), args.count, replace=len(pool) < args.count)]
    real = [ds.features(s) for s in ds.split("test")]
    t0 = time.perf_counter()
    generated = [tok.decode_features(tok.encode_features(ds.features(s))) for s in picks]
    t_gen = time.perf_counter() - t0
    texts = [s.texts[0] for s in picks]
    mm = [[generated[i], tok.decode_features(tok.encode_features(ds.features(picks[i])[4:]))] for i in range(100)]
    t1 = time.perf_counter()
    metrics = suite(generated, texts, real, [s.emotion for s in picks], multimodal=mm)
    t_metrics = time.perf_counter() - t1
    report = {"count": args.count, "metrics": {k: round(float(v), 4) for k, v in metrics.items()},
              "seconds_metric_suite": round(t_metrics, 2), "seconds_tokenizer_round_trip": round(t_gen, 2),
              "target_seconds": 60.0, "pass": t_metrics < 60.0}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
