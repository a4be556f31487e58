"""Batch-1 request latency with the experts folded into the base weights (``ExpertBank.merged``: a copy of
every targeted base weight per request) vs the low-rank mixed forward, on one backbone (issue 20). Prints JSON.

    PYTHONPATH=. python benchmarks/merge_vs_mix.py --backbone smollm2-135m --requests 5
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time

import numpy as np
import torch

from policies.backbone import load_backbone
from policies.backbone.corpus import TokenSample
from policies.data.config import load_emotion_labels
from policies.esmoe import ESMoE, load_esmoe_config

TEXTS = ["A happy person waves both hands energetically.", "A tired man walks slowly forward, head low.",
         "Someone proudly raises the right hand."]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backbone", default="smollm2-135m")
    p.add_argument("--requests", type=int, default=5)
    p.add_argument("--experts", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(1)
    cfg = load_esmoe_config()
    emotions = load_emotion_labels()
    model = ESMoE(load_backbone(a.backbone, 512), cfg, emotions)
    rng = np.random.default_rng(0)
    for i in range(a.experts):
        train = [TokenSample(rng.integers(0, 512, 20), [TEXTS[j % 3]], emotions[0], f"s{i}", "train", f"{i}-{j}") for j in range(8)]
        model.begin_scenario(f"s{i}", train)
        model.end_scenario()
    out = {"backbone": a.backbone, "experts": a.experts, "targeted_elements": model.bank.merge_copy_elements()}
    codes = {}
    for name, budget in (("mixed", 0), ("folded", 10**12)):
        model.config = dataclasses.replace(cfg, decode=dataclasses.replace(cfg.decode, merge_max_elements=budget))
        model.generate(TEXTS[:1], 20)  # warm-up
        wall, cpu = [], []
        for i in range(a.requests):
            t0, c0 = time.perf_counter(), time.thread_time()
            g = model.generate([TEXTS[i % 3]], 20)
            wall.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            codes.setdefault(name, []).append(g[0].codes.tolist())
        out[name] = {"wall_ms_p50": round(float(np.median(wall)) * 1000, 1), "cpu_ms_p50": round(float(np.median(cpu)) * 1000, 1)}
    out["same_tokens"] = codes["mixed"] == codes["folded"]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
