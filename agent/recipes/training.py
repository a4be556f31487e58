"""Training of a missing model (tokenizer, evaluator, emotion classifier) with its configs/<kind>.yaml: the
one recipe the runtime bootstrap and the benchmarks share."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from envs.config import apply_overrides, config_dir, load_config

log = logging.getLogger(__name__)
QUICK_ITERATIONS = {"tokenizer": 250, "evaluator": 200, "emotion": 120}  # small models of ``--quick`` runs (CI)


def dataset_config(benchmark: str, quick: bool):
    """A benchmark's dataset config; ``quick``: Bandai dataset-1 only, under its own name."""
    from policies.data import load_dataset_config

    cfg = load_dataset_config(benchmark)
    if quick and cfg.source == "bandai":
        cfg = dataclasses.replace(cfg, name=f"{cfg.name}-quick", datasets=["dataset-1"])
    return cfg


def model_kind(kind: str):
    """(config class, model class, trainer) of a trained model kind."""
    if kind == "tokenizer":
        from policies.tokenizer import TokenizerConfig, VQTokenizer
        from policies.tokenizer.train import train_tokenizer

        return TokenizerConfig, VQTokenizer, train_tokenizer
    if kind == "evaluator":
        from policies.evaluator import EvaluatorConfig, MotionTextEvaluator
        from policies.evaluator.train import train_evaluator

        return EvaluatorConfig, MotionTextEvaluator, train_evaluator
    from policies.emotion import EmotionClassifierConfig, MotionEmotionClassifier
    from policies.emotion.train import train_emotion_classifier

    return EmotionClassifierConfig, MotionEmotionClassifier, train_emotion_classifier


def train_missing(kind: str, out: Path, ds_dir: Path, iterations: int | None, progress: bool, lr: float | None = None,
                  warmup: int | None = None, overrides: dict | None = None, **extra) -> None:
    """Train ``kind`` (configs/<kind>.yaml) into ``out`` unless a finished checkpoint is there. ``lr``/``warmup``
    replace the config's for short runs (which then validate once, at the end); ``overrides``: other fields of
    the config by dotted key (the bootstrap's tokenizer terms and seed), checked as ``--set`` is. Training saves its
    best checkpoint at every validation and writes ``report.json`` only at its end: a checkpoint without it is a
    training that was stopped (a benchmark part killed), trained again rather than used half-done."""
    if (out / "model.safetensors").is_file():
        if (out / "report.json").is_file():
            return
        log.warning("%s: checkpoint without report.json (its training was stopped before the end): training again", out)
    cls, _, trainer = model_kind(kind)
    cfg = load_config(config_dir() / f"{kind}.yaml", cls)
    if lr is not None:
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, lr=lr, warmup=warmup, eval_every=iterations))
    if overrides:
        cfg = apply_overrides(cfg, {key: json.dumps(value) for key, value in overrides.items()}, f"{kind} overrides")
    log.warning("%s: no checkpoint, training one (%s iterations)", out, iterations or "configured")
    trainer(cfg, ds_dir, out, iterations=iterations, progress=progress, **extra)
