"""`l2emg bench generator`: ES-MoE training throughput, generation latency/throughput and memory."""
from __future__ import annotations

import dataclasses
import resource
import time
from pathlib import Path

import numpy as np


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _pcts(xs: list[float]) -> dict:
    return {"p50": round(float(np.median(xs)) * 1000, 1), "p95": round(float(np.percentile(xs, 95)) * 1000, 1)}


DECODERS_TIMED = ("jit", "numpy", "static", "hf")
TEXTS_POOL = ("A happy person waves both hands energetically.", "A tired man walks slowly forward, head low.",
              "Someone proudly raises the right hand.", "An angry figure kicks hard.", "A sad woman bows deeply.")


def _decoding(model, texts_pool: list[str], quick: bool) -> dict:
    """Batch-1 latency and batch-32 throughput of a 4 s motion (20 tokens, greedy) with the NumPy decoder with its
    compiled step (``jit``, the default), the NumPy decoder alone, the torch static decoder and Hugging Face
    generate, alternated request by request so that all see the same machine load, and whether they gave the same
    tokens. The headline keys are the default decoder's."""
    same = {d: True for d in DECODERS_TIMED[:-1]}
    cpu: dict[str, list[float]] = {d: [] for d in DECODERS_TIMED}

    def timed(texts: list[str], decoder: str) -> tuple[float, list]:
        t0, c0 = time.perf_counter(), time.thread_time()
        g = model.generate(texts, 20, decoder=decoder)  # 20 tokens x 4 frames = 4 s at 20 fps
        dt = time.perf_counter() - t0
        if len(texts) == 1:
            cpu[decoder].append(time.thread_time() - c0)
        assert all(x.codes is not None and len(x.codes) == 20 for x in g)
        return dt, [x.codes.tolist() for x in g]

    def alternate(texts: list[str], lat: dict[str, list[float]]) -> None:
        got = {}
        for d in DECODERS_TIMED:
            dt, got[d] = timed(texts, d)
            lat[d].append(dt)
        for d in same:
            same[d] &= got[d] == got["hf"]

    lat: dict[str, list[float]] = {d: [] for d in DECODERS_TIMED}
    for d in DECODERS_TIMED:
        timed(texts_pool[:1], d)  # warm-up
    for i in range(3 if quick else 20):
        alternate([texts_pool[i % len(texts_pool)]], lat)
    texts32 = [texts_pool[i % len(texts_pool)] for i in range(32)]
    for d in DECODERS_TIMED:
        timed(texts32, d)  # warm-up
    thr: dict[str, list[float]] = {d: [] for d in DECODERS_TIMED}
    for _ in range(1 if quick else 10):  # 3 left the median to the machine's moods (350-530 motions/s run to run)
        alternate(texts32, thr)
    p50 = {d: float(np.median(v)) for d, v in lat.items()}
    sec = {d: float(np.median(v)) for d, v in thr.items()}

    def batch32(d: str) -> dict:
        return {"seconds": round(sec[d], 3), "motions_per_s": round(32 / sec[d], 1), "runs_s": [round(x, 3) for x in thr[d]]}

    return {"generate_4s_batch1_greedy_ms": _pcts(lat["jit"]),
            "generate_4s_batch1_greedy_ms_numpy": _pcts(lat["numpy"]),
            "generate_4s_batch1_greedy_ms_static": _pcts(lat["static"]),
            "generate_4s_batch1_greedy_ms_hf": _pcts(lat["hf"]),
            "batch1_p50_speedup_vs_hf": round(p50["hf"] / p50["jit"], 2),
            "batch1_p50_speedup_vs_numpy": round(p50["numpy"] / p50["jit"], 2),
            "batch1_p50_speedup_vs_static": round(p50["static"] / p50["jit"], 2),
            # CPU time of this thread (torch and NumPy run on it with one thread): the work, less the waits for a core
            "generate_4s_batch1_cpu_ms_p50": {d: round(float(np.median(v)) * 1000, 1) for d, v in cpu.items()},
            "generate_4s_batch32": batch32("jit"), "generate_4s_batch32_numpy": batch32("numpy"),
            "generate_4s_batch32_static": batch32("static"),
            "generate_4s_batch32_hf": batch32("hf"),
            "batch32_speedup_vs_hf": round(sec["hf"] / sec["jit"], 2),
            "greedy_tokens_identical_to_hf": same}


def esmoe_with_experts(backbone, scenarios: int, samples: int = 64, seed: int = 0) -> tuple:
    """The benchmark's ES-MoE on ``backbone``: one expert begun per scenario on ``samples`` random 20-token motions
    described by ``TEXTS_POOL``. Returns the model and the last scenario's samples (what the timed training reads)."""
    from policies.backbone.corpus import TokenSample
    from policies.data.config import load_emotion_labels
    from policies.esmoe import ESMoE, load_esmoe_config

    emotions = load_emotion_labels()
    rng = np.random.default_rng(seed)
    model = ESMoE(backbone, load_esmoe_config(), emotions)
    train: list = []
    for s in range(scenarios):
        name = f"scenario{s}"
        train = [TokenSample(rng.integers(0, 512, size=20), [TEXTS_POOL[i % len(TEXTS_POOL)]], emotions[i % len(emotions)],
                             name, "train", f"{name}{i}") for i in range(samples)]
        model.begin_scenario(name, train)
    return model, train


def run_generator_bench(backbone: str = "tiny", runs: str = "runs", quick: bool = False, benchmark: str = "bandai-4",
                        threads: int | None = None, batch: int | None = None, steps: int | None = None,
                        scenarios: int | None = None) -> dict:
    """``threads``: torch intra-op threads (default: ``setup_torch``'s, the cores up to 2). ``backbone``: tiny,
    smollm2-135m, a local Hugging Face folder or a warm-up output; ``batch``/``steps``/``scenarios`` (training
    batch, timed steps, experts) override the per-backbone defaults."""
    import os

    import torch

    from policies.backbone import load_backbone
    from policies.esmoe import load_esmoe_config
    from policies.esmoe.trainer import train_on
    from policies.torch_utils import setup_torch

    setup_torch(0, threads)
    config = load_esmoe_config()
    texts_pool = list(TEXTS_POOL)
    if backbone == "tiny":
        pre = Path(runs) / benchmark / "backbone-tiny"
        b = load_backbone(str(pre), 512) if (pre / "config.json").is_file() else load_backbone("tiny", 512, texts_pool)
        source = str(pre) if (pre / "config.json").is_file() else "tiny (random init: no pretrained backbone found)"
        defaults = config.train.batch, (10 if quick else 40), 4
    else:
        b = load_backbone(backbone, 512)
        source, defaults = backbone, (8, (2 if quick else 5), 1)
    batch, steps, scenarios = batch or defaults[0], steps or defaults[1], scenarios or defaults[2]
    base_params = b.num_parameters

    model, train = esmoe_with_experts(b, scenarios)
    settings = dataclasses.replace(config.train, batch=batch)
    train_on(model, train, settings, steps=2, progress=False)  # warm-up
    t = train_on(model, train, settings, steps=steps, progress=False)
    out = {"backbone": source, "backbone_parameters": base_params, "experts": len(model.bank.names),
           "expert_parameters": model.expert_parameters(), "expert_fraction": round(model.expert_parameters() / base_params, 4),
           "train_batch": batch, "train_steps": steps, "train_samples_per_s": t["samples_per_s"],
           "train_peak_rss_mb": round(_peak_rss_mb()),
           # batch-1 requests fold the experts into the base weights only within decode.merge_max_elements (the fold
           # copies every targeted base weight); beyond it they take the low-rank mixed forward
           "merge_copy_elements": model.bank.merge_copy_elements(),
           "batch1_folds_experts": model.bank.merge_copy_elements() <= config.decode.merge_max_elements}
    load_before = os.getloadavg()[0]
    out.update(_decoding(model, texts_pool, quick))
    out["decoder_default"] = config.decode.decoder
    out["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]  # before and after decoding
    out["peak_rss_mb"] = round(_peak_rss_mb())
    out["torch_threads"] = torch.get_num_threads()
    return out


def compare_with_tiny(backbone: str, runs: str = "runs", quick: bool = False, threads: int | None = None) -> dict:
    """``backbone``'s figures next to the tiny backbone's under the same settings (training batch, steps,
    experts). The tiny one runs first: peak RSS is the process's, so its figure is not the larger model's."""
    other_defaults = (8, 2 if quick else 5, 1)
    tiny = run_generator_bench("tiny", runs, quick, threads=threads, batch=other_defaults[0], steps=other_defaults[1],
                               scenarios=other_defaults[2])
    other = run_generator_bench(backbone, runs, quick, threads=threads)
    keys = ("backbone_parameters", "train_samples_per_s", "generate_4s_batch1_greedy_ms", "generate_4s_batch1_cpu_ms_p50",
            "generate_4s_batch32", "batch1_folds_experts", "peak_rss_mb")
    side = {name: {k: r[k] for k in keys} for name, r in (("tiny", tiny), (backbone, other))}
    return {"side_by_side": side, "tiny": tiny, backbone: other}
