"""Everything the lifelong benchmark needs, reused when present and trained when missing: the prepared
dataset, the VQ tokenizer, the evaluator, the emotion classifier and the pretrained tiny backbone.
``quick`` builds small versions of each (Bandai dataset-1 only, short trainings) for CI."""
from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from envs.config import config_dir, load_config
from feedback.generation_metrics import GenerationMetrics
from feedback.lifelong_bench import LifelongAssets
from policies.backbone.corpus import TokenCorpus
from policies.data import L2EMGDataset, load_dataset_config, prepare
from policies.data.config import load_emotion_labels
from policies.esmoe.config import ESMoEConfig

log = logging.getLogger(__name__)
QUICK_ITERATIONS = {"tokenizer": 250, "evaluator": 200, "emotion": 120}
QUICK_PRETRAIN_STEPS = 120


def dataset_config(benchmark: str, quick: bool):
    cfg = load_dataset_config(benchmark)
    if quick and cfg.source == "bandai":
        cfg = dataclasses.replace(cfg, name=f"{cfg.name}-quick", datasets=["dataset-1"])
    return cfg


def _kind(kind: str):
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
                  warmup: int | None = None, **extra) -> None:
    """Train ``kind`` (configs/<kind>.yaml) into ``out`` unless a checkpoint is there. ``lr``/``warmup``
    replace the config's for short runs (which then validate once, at the end)."""
    if (out / "model.safetensors").is_file():
        return
    cls, _, trainer = _kind(kind)
    cfg = load_config(config_dir() / f"{kind}.yaml", cls)
    if lr is not None:
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, lr=lr, warmup=warmup, eval_every=iterations))
    log.warning("%s: no checkpoint, training one (%s iterations)", out, iterations or "configured")
    trainer(cfg, ds_dir, out, iterations=iterations, progress=progress, **extra)


def _model(kind: str, out: Path, ds_dir: Path, quick: bool, progress: bool):
    train_missing(kind, out, ds_dir, QUICK_ITERATIONS[kind] if quick else None, progress)
    return _kind(kind)[1].load(out)


def lifelong_assets(benchmark: str, config: ESMoEConfig, quick: bool = False, root: str | None = None,
                    cache: str | None = None, runs: str | Path = "runs", progress: bool = True) -> tuple[LifelongAssets, dict]:
    from policies.backbone import load_backbone
    from policies.backbone.pretrain import pretrain_tiny

    cfg = dataset_config(benchmark, quick)
    ds_dir, _, _ = prepare(cfg, cache, root, progress=progress)
    run_dir = Path(runs) / cfg.name
    tokenizer = _model("tokenizer", run_dir / "tokenizer", ds_dir, quick, progress)
    evaluator = _model("evaluator", run_dir / "evaluator", ds_dir, quick, progress)
    emotion = _model("emotion", run_dir / "emotion", ds_dir, quick, progress)
    corpus = TokenCorpus.from_dataset(L2EMGDataset(ds_dir), tokenizer, progress=progress)
    backbone_dir = run_dir / "backbone-tiny"
    if not (backbone_dir / "config.json").is_file():
        p = config.pretrain
        synth_cfg = load_dataset_config(p.dataset)
        if quick:
            synth_cfg = dataclasses.replace(synth_cfg, name=f"{synth_cfg.name}-quick", variations=1)
        synth_dir, _, _ = prepare(synth_cfg, cache, None, progress=progress)
        synth = TokenCorpus.from_dataset(L2EMGDataset(synth_dir), tokenizer, progress=progress)
        pretrain_tiny(synth, synth.texts("train") + corpus.texts("train"), backbone_dir,
                      QUICK_PRETRAIN_STEPS if quick else p.steps, p.batch, p.lr, p.warmup,
                      seed=config.train.seed, codebook_size=tokenizer.codebook_size, progress=progress)
    pre = json.loads((backbone_dir / "pretrain_report.json").read_text())
    assets = LifelongAssets(corpus=corpus, tokenizer=tokenizer, metrics=GenerationMetrics(evaluator, emotion),
                            make_backbone=lambda: load_backbone(str(backbone_dir), tokenizer.codebook_size),
                            emotions=load_emotion_labels())
    return assets, {"dataset": cfg.name, "dataset_dir": str(ds_dir), "backbone_dir": str(backbone_dir), "pretrain": pre}
