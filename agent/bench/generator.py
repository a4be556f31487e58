"""`l2emg bench generator`: ES-MoE training throughput, generation latency/throughput and memory."""
from __future__ import annotations

import dataclasses
import resource
import time
from pathlib import Path

import numpy as np


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_generator_bench(backbone: str = "tiny", runs: str = "runs", quick: bool = False, benchmark: str = "bandai-4") -> dict:
    import torch

    from policies.backbone import load_backbone
    from policies.backbone.corpus import TokenSample
    from policies.data.config import load_emotion_labels
    from policies.esmoe import ESMoE, load_esmoe_config
    from policies.esmoe.trainer import train_on
    from policies.torch_utils import setup_torch

    setup_torch(0)
    config = load_esmoe_config()
    emotions = load_emotion_labels()
    rng = np.random.default_rng(0)
    texts_pool = ["A happy person waves both hands energetically.", "A tired man walks slowly forward, head low.",
                  "Someone proudly raises the right hand.", "An angry figure kicks hard.", "A sad woman bows deeply."]
    if backbone == "tiny":
        pre = Path(runs) / benchmark / "backbone-tiny"
        b = load_backbone(str(pre), 512) if (pre / "config.json").is_file() else load_backbone("tiny", 512, texts_pool)
        source = str(pre) if (pre / "config.json").is_file() else "tiny (random init: no pretrained backbone found)"
        batch, steps, scenarios = config.train.batch, (10 if quick else 40), 4
    else:
        b = load_backbone(backbone, 512)
        source, batch, steps, scenarios = backbone, 8, (2 if quick else 5), 1
    base_params = b.num_parameters

    def fake(scenario: str, n: int = 64) -> list[TokenSample]:
        return [TokenSample(rng.integers(0, 512, size=20), [texts_pool[i % 5]], emotions[i % len(emotions)], scenario, "train", f"{scenario}{i}")
                for i in range(n)]

    model = ESMoE(b, config, emotions)
    for i in range(scenarios):
        train = fake(f"scenario{i}")
        model.begin_scenario(f"scenario{i}", train)
    settings = dataclasses.replace(config.train, batch=batch)
    train_on(model, train, settings, steps=2, progress=False)  # warm-up
    t = train_on(model, train, settings, steps=steps, progress=False)
    out = {"backbone": source, "backbone_parameters": base_params, "experts": len(model.bank.names),
           "expert_parameters": model.expert_parameters(), "expert_fraction": round(model.expert_parameters() / base_params, 4),
           "train_batch": batch, "train_samples_per_s": t["samples_per_s"], "train_peak_rss_mb": round(_peak_rss_mb())}
    lat = []
    for i in range(3 if quick else 20):
        t0 = time.perf_counter()
        g = model.generate([texts_pool[i % 5]], 20)  # 20 tokens x 4 frames = 4 s at 20 fps
        lat.append(time.perf_counter() - t0)
        assert g[0].codes is not None and len(g[0].codes) == 20
    out["generate_4s_batch1_greedy_ms"] = {"p50": round(float(np.median(lat)) * 1000, 1), "p95": round(float(np.percentile(lat, 95)) * 1000, 1)}
    texts32 = [texts_pool[i % 5] for i in range(32)]
    model.generate(texts32, 20)
    t0 = time.perf_counter()
    reps = 1 if quick else 3
    for _ in range(reps):
        model.generate(texts32, 20)
    dt = (time.perf_counter() - t0) / reps
    out["generate_4s_batch32"] = {"seconds": round(dt, 3), "motions_per_s": round(32 / dt, 1)}
    out["peak_rss_mb"] = round(_peak_rss_mb())
    out["torch_threads"] = torch.get_num_threads()
    return out
