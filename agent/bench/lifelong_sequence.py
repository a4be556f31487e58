"""The L2-EMG lifelong benchmark's sequences: every method trained scenario after scenario with the same
trainer, evaluated with the same metric suite after each scenario on every scenario seen so far."""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from agent.recipes.benchmark_assets import LifelongAssets
from feedback.lifelong import LifelongMatrix
from policies.backbone.corpus import TokenCorpus, TokenSample
from policies.esmoe.config import ESMoEConfig
from policies.esmoe.learner import ContinualLearner
from policies.esmoe.trainer import learn_scenario


def scenario_orders(scenarios: list[str], n: int, seed: int = 0) -> list[list[str]]:
    """``n`` distinct orders: the first is alphabetical, the others seeded permutations."""
    rng = np.random.default_rng(seed)
    orders = [sorted(scenarios)]
    tries = 0
    while len(orders) < n and tries < 1000:
        o = [scenarios[i] for i in rng.permutation(len(scenarios))]
        if o not in orders:
            orders.append(o)
        tries += 1
    return orders


def cap(samples: list[TokenSample], n: int, seed: int = 0) -> list[TokenSample]:
    if n <= 0 or len(samples) <= n:
        return samples
    idx = np.sort(np.random.default_rng(seed).choice(len(samples), n, replace=False))
    return [samples[i] for i in idx]


class CellEvaluator:
    """Generates for one scenario's evaluation samples and scores the result (cached real embeddings)."""

    def __init__(self, assets: LifelongAssets, config: ESMoEConfig, split: str) -> None:
        self.assets, self.config, self.split = assets, config, split
        self.samples: dict[str, list[TokenSample]] = {}
        self.real: dict[str, np.ndarray] = {}

    def samples_of(self, scenario: str) -> list[TokenSample]:
        if scenario not in self.samples:
            s = cap(self.assets.corpus.select(self.split, [scenario]), self.config.eval.max_test_per_scenario)
            if not s:
                raise ValueError(f"scenario {scenario!r} has no {self.split} samples")
            self.samples[scenario] = s
            self.real[scenario] = self.assets.metrics.real_embeddings([self.assets.corpus.features(x) for x in s])
        return self.samples[scenario]

    def decode(self, gens) -> list[np.ndarray]:
        tok = self.assets.tokenizer
        # a failed generation (no motion tokens after the retries) scores as a 4-frame still pose
        return [tok.decode_features(g.codes if g.codes is not None and len(g.codes) else np.zeros(1, np.int64)) for g in gens]

    def __call__(self, learner: ContinualLearner, scenario: str, multimodal: bool = True) -> dict:
        """Metrics on ``scenario``; MultiModality (extra sampled generations) only when ``multimodal``."""
        samples = self.samples_of(scenario)
        texts = [s.texts[0] for s in samples]
        t0 = time.perf_counter()
        gens = learner.generate(texts, [len(s.codes) for s in samples])
        gen_seconds = time.perf_counter() - t0
        e = self.config.eval
        mm = None
        if multimodal and e.multimodal_texts and e.multimodal_samples > 1:
            picked = cap(samples, e.multimodal_texts, seed=1)
            mm = []
            for rep in range(e.multimodal_samples):
                g = learner.generate([s.texts[0] for s in picked], [len(s.codes) for s in picked], greedy=False,
                                     seed=100 + rep, top_k=e.top_k_sampling)
                mm.append(self.decode(g))
            mm = [list(x) for x in zip(*mm)]
        out = self.assets.metrics(self.decode(gens), texts, self.real[scenario], [s.emotion for s in samples], mm)
        if getattr(learner, "use_samoe", False) and scenario in learner.bank.names:
            out["routing_accuracy"] = float(np.mean([r == scenario for r in learner.route(texts)]))
        out["failures"] = sum(g.codes is None for g in gens)
        out["samples"] = len(samples)
        out["generation_seconds"] = round(gen_seconds, 2)
        return {k: (round(float(v), 5) if isinstance(v, float) else v) for k, v in out.items()}


def reference_rows(assets: LifelongAssets, evaluate: CellEvaluator, scenarios: list[str]) -> dict[str, dict]:
    """Upper references on the same samples: the real motions, and their VQ-VAE reconstruction (the best
    any token generator can do with this tokenizer). FID of real vs itself is 0 by construction."""
    out: dict[str, dict] = {}
    for name in ("real motion", "VQ-VAE reconstruction"):
        rows = {}
        for sc in scenarios:
            samples = evaluate.samples_of(sc)
            feats = [assets.corpus.features(x) for x in samples]
            if name != "real motion":
                feats = [assets.tokenizer.decode_features(x.codes) for x in samples]
            m = assets.metrics(feats, [x.texts[0] for x in samples], evaluate.real[sc], [x.emotion for x in samples])
            rows[sc] = {k: round(float(v), 5) for k, v in m.items()}
        mean = lambda k: float(np.nanmean([r.get(k, np.nan) for r in rows.values()]))  # noqa: E731
        out[name] = {"per_scenario": rows, "AF": mean("fid"), "AR": mean("r_precision_top1") * 100, "AD": mean("diversity"),
                     "AWF": mean("weighted_f1") * 100}
    return out


def run_sequence(method: type[ContinualLearner], order: list[str], assets: LifelongAssets, config: ESMoEConfig,
                 evaluate: CellEvaluator, progress: bool = True, log: Callable[[dict], None] | None = None) -> dict:
    """One method through one scenario order (or jointly for MTL); returns its matrix and timings."""
    torch.manual_seed(config.train.seed)
    learner = method(assets.make_backbone(), config, assets.emotions)
    matrix = LifelongMatrix(list(order))
    timings = []
    stages = [list(order)] if method.joint else [[s] for s in order]
    for k, stage in enumerate(stages):
        train = [x for s in stage for x in assets.corpus.select("train", [s])]
        t = learn_scenario(learner, "+".join(stage), train, config.train, seed=config.train.seed + k,
                           steps=config.train.steps_per_scenario * len(stage), label=stage[-1], progress=progress)
        t["expert_parameters"] = learner.expert_parameters()
        timings.append(t)
        after = order[-1] if method.joint else stage[0]
        seen = list(order) if method.joint else list(order[: k + 1])
        last = k == len(stages) - 1
        for j in seen:
            cell = evaluate(learner, j, multimodal=last)  # AMM reads the last row only
            matrix.record(after, j, cell)
            if log:
                log({"method": method.name, "order": order, "after": after, "on": j, **cell})
    return {"method": method.name, "order": list(order), "matrix": matrix, "summary": matrix.summary(), "training": timings,
            "backbone_parameters": sum(p.numel() for n, p in learner.bank.base_model.named_parameters() if "lora_" not in n),
            "learner": learner}

