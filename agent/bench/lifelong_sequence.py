"""The L2-EMG lifelong benchmark's sequences: every method trained scenario after scenario with the same
trainer, evaluated with the same metric suite after each scenario on every scenario seen so far."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from agent.recipes.benchmark_assets import LifelongAssets
from feedback.lifelong import LifelongMatrix
from policies.backbone.corpus import TokenCorpus, TokenSample
from policies.esmoe.config import ESMoEConfig
from policies.esmoe.learner import ContinualLearner
from policies.esmoe.trainer import learn_scenario
from policies.torch_utils import pick_device


def scenario_orders(scenarios: list[str], n: int, seed: int = 0, first: list[str] | None = None) -> list[list[str]]:
    """``n`` distinct orders: the first is ``first`` (default alphabetical), the others seeded permutations."""
    rng = np.random.default_rng(seed)
    orders = [list(first) if first else sorted(scenarios)]
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


def training_samples(corpus: TokenCorpus, scenarios: list[str], holdout: dict[str, list[str]]) -> list[TokenSample]:
    """The train windows of ``scenarios`` without the emotion x scenario combinations held out."""
    return [x for s in scenarios for x in corpus.select("train", [s]) if x.emotion not in holdout.get(s, ())]


def training_stages(learner: ContinualLearner, order: list[str]) -> list[list[str]]:
    """One stage per scenario in order, or a single stage of all of them for a ``joint`` learner (MTL)."""
    return [list(order)] if learner.joint else [[s] for s in order]


def train_stage(learner: ContinualLearner, stage: list[str], k: int, assets: LifelongAssets, config: ESMoEConfig,
                holdout: dict[str, list[str]], progress: bool) -> dict:
    """Stage ``k``: the learner trained on its scenarios' windows (held-out combinations left out) with the
    protocol's budget; returns the trainer's timings."""
    train = training_samples(assets.corpus, stage, holdout)
    return learn_scenario(learner, "+".join(stage), train, config.train, seed=config.train.seed + k,
                          steps=config.train.steps_per_scenario * len(stage), label=stage[-1], progress=progress)


@dataclass(frozen=True)
class EvalItem:
    """One scored generation: a test window and one of its descriptions."""

    sample: TokenSample
    text: str


class CellEvaluator:
    """Generates for one scenario's evaluation items and scores the result (cached real embeddings).

    Items are the scenario's test windows (all, or ``eval.max_test_per_scenario`` drawn with a fixed seed),
    each with ``eval.texts_per_window`` of its descriptions (0: all): the same items, in the same order, for
    every method, seed and order, so per-item results pair up across them."""

    def __init__(self, assets: LifelongAssets, config: ESMoEConfig, split: str) -> None:
        self.assets, self.config, self.split = assets, config, split
        self.samples: dict[str, list[TokenSample]] = {}
        self.items: dict[str, list[EvalItem]] = {}
        self.real: dict[str, np.ndarray] = {}

    def samples_of(self, scenario: str) -> list[TokenSample]:
        if scenario not in self.samples:
            s = cap(self.assets.corpus.select(self.split, [scenario]), self.config.eval.max_test_per_scenario)
            if not s:
                raise ValueError(f"scenario {scenario!r} has no {self.split} samples")
            self.samples[scenario] = s
            k = self.config.eval.texts_per_window
            self.items[scenario] = [EvalItem(x, t) for x in s for t in (x.texts if k <= 0 else x.texts[:k])]
            self.real[scenario] = self.assets.metrics.real_embeddings([self.assets.corpus.features(x) for x in s])
        return self.samples[scenario]

    def items_of(self, scenario: str) -> list[EvalItem]:
        self.samples_of(scenario)
        return self.items[scenario]

    def decode(self, gens) -> list[np.ndarray]:
        tok = self.assets.tokenizer
        # a failed generation (no motion tokens after the retries) scores as a 4-frame still pose
        return [tok.decode_features(g.codes if g.codes is not None and len(g.codes) else np.zeros(1, np.int64)) for g in gens]

    def __call__(self, learner: ContinualLearner, scenario: str, multimodal: bool = True) -> dict:
        """Metrics on ``scenario`` plus per-item ``top1_hits`` and ``emotion_pred``; MultiModality (extra
        sampled generations) only when ``multimodal``."""
        samples = self.samples_of(scenario)
        items = self.items[scenario]
        texts = [i.text for i in items]
        t0 = time.perf_counter()
        with learner.evaluation_context(scenario):  # read only by methods scored with the task identity
            gens = learner.generate(texts, [len(i.sample.codes) for i in items])
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
        out = self.assets.metrics(self.decode(gens), texts, self.real[scenario], [i.sample.emotion for i in items], mm,
                                  per_item=True)
        route = getattr(learner, "route", None)
        if callable(route) and scenario in learner.bank.names and getattr(learner, "use_samoe", True):
            with learner.evaluation_context(scenario):
                out["routing_accuracy"] = float(np.mean([r == scenario for r in route(texts)]))
        out["failures"] = sum(g.codes is None for g in gens)
        out["samples"] = len(samples)
        out["items"] = len(items)
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


def run_sequence(make: Callable, order: list[str], assets: LifelongAssets, config: ESMoEConfig, evaluate: CellEvaluator,
                 views: dict[str, ESMoEConfig], progress: bool = True, log: Callable[[dict], None] | None = None,
                 holdout: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """One training through one scenario order (or jointly, for a ``joint`` learner such as MTL), evaluated after
    each scenario on every scenario seen so far, once per view: ``views`` maps a method key to the configuration
    it is evaluated with (methods that share a training and differ only at inference). ``holdout``: scenario ->
    emotions whose windows are left out of its training (still evaluated). Returns, per view, its matrix,
    summary, per-item cells and the shared training timings."""

    torch.manual_seed(config.train.seed)
    # on the GPU when there is one (L2EMG_DEVICE overrides), as the runtime's learner: on a lent H200 the learner
    # stayed on the CPU and the SmolLM2-135M shape trained at 1.8 s a step (RESULTS, GPU section); on a CPU, a no-op
    learner = make(assets.make_backbone(), config, assets.emotions).to(pick_device())
    matrices = {v: LifelongMatrix(list(order)) for v in views}
    cells: dict[str, dict] = {v: {} for v in views}
    timings = []
    stages = training_stages(learner, order)
    for k, stage in enumerate(stages):
        t = train_stage(learner, stage, k, assets, config, holdout or {}, progress)
        t["expert_parameters"] = learner.expert_parameters()
        timings.append(t)
        after = order[-1] if learner.joint else stage[0]
        seen = list(order) if learner.joint else list(order[: k + 1])
        last = k == len(stages) - 1
        for v, view_config in views.items():
            learner.config = view_config  # e.g. the content router: same experts, another gate.inference
            try:
                for j in seen:
                    cell = evaluate(learner, j, multimodal=last)  # AMM reads the last row only
                    hits, pred = cell.pop("top1_hits", None), cell.pop("emotion_pred", None)
                    cells[v][f"{after}|{j}"] = {"hits": "".join("1" if h else "0" for h in hits) if hits is not None else None,
                                                "pred": pred}
                    matrices[v].record(after, j, cell)
                    if log:
                        log({"method": v, "seed": config.train.seed, "order": order, "after": after, "on": j, **cell})
            finally:
                learner.config = config
    backbone = sum(p.numel() for n, p in learner.bank.base_model.named_parameters() if "lora_" not in n)
    return {v: {"order": list(order), "matrix": matrices[v], "summary": matrices[v].summary(), "cells": cells[v],
                "training": timings, "backbone_parameters": backbone, "expert_parameters": learner.expert_parameters()}
            for v in views}
