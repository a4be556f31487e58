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


def _model(kind: str, out: Path, ds_dir: Path, quick: bool, progress: bool):
    if kind == "tokenizer":
        from policies.tokenizer import TokenizerConfig as cls
        from policies.tokenizer import VQTokenizer as model_cls
        from policies.tokenizer.train import train_tokenizer as trainer
    elif kind == "evaluator":
        from policies.evaluator import EvaluatorConfig as cls
        from policies.evaluator import MotionTextEvaluator as model_cls
        from policies.evaluator.train import train_evaluator as trainer
    else:
        from policies.emotion import EmotionClassifierConfig as cls
        from policies.emotion import MotionEmotionClassifier as model_cls
        from policies.emotion.train import train_emotion_classifier as trainer
    if not (out / "model.safetensors").is_file():
        log.warning("%s: no checkpoint, training one (%s)", out, "quick" if quick else "full")
        trainer(load_config(config_dir() / f"{kind}.yaml", cls), ds_dir, out,
                iterations=QUICK_ITERATIONS[kind] if quick else None, progress=progress)
    return model_cls.load(out)


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
