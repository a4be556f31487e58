"""Everything the lifelong benchmark and `l2emg train generator` need, reused when present and trained when
missing: the prepared dataset, the VQ tokenizer, the evaluator, the emotion classifier and the pretrained
tiny backbone. ``quick`` builds small versions of each (Bandai dataset-1 only, short trainings) for CI."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from agent.recipes.training import QUICK_ITERATIONS, dataset_config, model_kind, train_missing
from envs.atomic import atomic_write_text
from feedback.generation_metrics import GenerationMetrics
from policies.backbone.corpus import TokenCorpus
from policies.data import L2EMGDataset, load_dataset_config, prepare
from policies.data.config import load_emotion_labels
from policies.esmoe.config import ESMoEConfig

log = logging.getLogger(__name__)
QUICK_PRETRAIN_STEPS = 120
QUICK = {"steps_per_scenario": 20, "max_test_per_scenario": 40, "multimodal_texts": 8, "multimodal_samples": 2}


@dataclass
class LifelongAssets:
    """What every method shares: the tokenised benchmark, the decoder and the judges."""

    corpus: TokenCorpus
    tokenizer: object  # VQTokenizer
    metrics: GenerationMetrics
    make_backbone: Callable[[], object]  # a fresh pretrained backbone per run
    emotions: list[str]


def quick_config(config: ESMoEConfig) -> ESMoEConfig:
    """The ES-MoE settings of ``--quick`` runs (CI): short trainings, capped evaluation."""
    return dataclasses.replace(
        config, train=dataclasses.replace(config.train, steps_per_scenario=QUICK["steps_per_scenario"]),
        eval=dataclasses.replace(config.eval, max_test_per_scenario=QUICK["max_test_per_scenario"],
                                 multimodal_texts=QUICK["multimodal_texts"], multimodal_samples=QUICK["multimodal_samples"]))


def weights_fingerprint(folder: str | Path) -> str:
    """sha256 (16 hex digits) over a model folder's safetensors files, names and bytes. A results folder resumed
    in another checkout, on models rebuilt there, must be scored by the same weights to the bit: this is what
    its manifest compares."""
    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise FileNotFoundError(f"{folder}: no *.safetensors weights to fingerprint")
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def dataset_identity(ds_dir: str | Path) -> str:
    """sha256 (16 hex digits) of a prepared dataset's sample list (ids, splits, windows, texts, emotions). The build
    fingerprint (``prepare``) also covers the source files' modification times, which a fresh copy of the data
    changes; this is what stays the same wherever the same clips are prepared the same way."""
    return hashlib.sha256((Path(ds_dir) / "samples.jsonl").read_bytes()).hexdigest()[:16]


CARRIED = ("tokenizer", "evaluator", "emotion")  # with the tiny backbone's folder


def install_carried(out_dir: Path, run_dir: Path) -> list[str]:
    """Copies the models a results folder carries (``out_dir/models``) into ``run_dir`` where it lacks them, so
    a table started on one machine is continued on the same weights on another (rebuilt models differ in their
    last bits from one CPU to the next). A model already in ``run_dir`` must be the same to the bit. Returns the
    folders installed."""
    import shutil

    carried = out_dir / "models"
    if not carried.is_dir():
        return []
    installed = []
    for src in sorted(p for p in carried.iterdir() if p.is_dir()):
        dst = run_dir / src.name
        if dst.is_dir() and any(dst.glob("*.safetensors")):
            if weights_fingerprint(dst) != weights_fingerprint(src):
                raise ValueError(f"{dst}: other weights than the ones {carried} carries; give another --runs")
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst, dirs_exist_ok=True)
        installed.append(src.name)
    return installed


def carry_models(out_dir: Path, run_dir: Path, backbone_dir: str | Path | None) -> list[str]:
    """Copies the shared models (and a tiny backbone that lives in ``run_dir``) into ``out_dir/models`` when it
    does not hold them yet: the results folder then carries what its runs were scored by."""
    import shutil

    names = list(CARRIED)
    if backbone_dir is not None and Path(backbone_dir).parent == run_dir:
        names.append(Path(backbone_dir).name)
    copied = []
    for name in names:
        dst = out_dir / "models" / name
        if dst.is_dir():
            continue
        tmp = dst.with_name(f".{name}.{os.getpid()}")  # shards may carry at the same moment: first rename wins
        shutil.copytree(run_dir / name, tmp, dirs_exist_ok=True)
        try:
            tmp.rename(dst)
            copied.append(name)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return copied


def _model(kind: str, out: Path, ds_dir: Path, quick: bool, progress: bool):
    train_missing(kind, out, ds_dir, QUICK_ITERATIONS[kind] if quick else None, progress)
    return model_kind(kind)[1].load(out)


def lifelong_assets(benchmark: str, config: ESMoEConfig, quick: bool = False, root: str | None = None,
                    cache: str | None = None, runs: str | Path = "runs", progress: bool = True, shipped: bool = False,
                    backbone_folder: str = "backbone-tiny", backbone: str = "tiny",
                    pretrain_without: list[str] | tuple[str, ...] = ()) -> tuple[LifelongAssets, dict]:
    """``shipped``: install the models shipped in ``assets/<dataset>/`` first (when they match the prepared
    dataset); ``backbone_folder``: the tiny backbone's folder under ``runs/<dataset>/`` (pretrained here when
    missing); ``backbone``: ``tiny`` (that folder), or a pretrained one (``smollm2-135m``, a local Hugging Face
    folder or a warm-up output) that learns the motion vocabulary by ``l2emg warmup``; ``pretrain_without``:
    scenarios of the pre-training source left out when the tiny backbone is pre-trained here (an
    emotion-transfer protocol: the backbone must not have seen the benchmark's scenarios)."""
    from policies.backbone import load_backbone
    from policies.backbone.pretrain import pretrain_tiny

    cfg = dataset_config(benchmark, quick)
    ds_dir, ds_manifest, _ = prepare(cfg, cache, root, progress=progress)
    run_dir = Path(runs) / cfg.name
    if shipped:
        from agent.recipes.shipped import install_shipped, shipped_models

        models = shipped_models(cfg.name)
        if backbone_folder not in models and not pretrain_without:
            raise FileNotFoundError(f"no shipped {cfg.name} backbone {backbone_folder!r} (shipped: {models})")
        install_shipped(cfg.name, ds_manifest["fingerprint"], run_dir, models)
    tokenizer = _model("tokenizer", run_dir / "tokenizer", ds_dir, quick, progress)
    evaluator = _model("evaluator", run_dir / "evaluator", ds_dir, quick, progress)
    emotion = _model("emotion", run_dir / "emotion", ds_dir, quick, progress)
    corpus = TokenCorpus.from_dataset(L2EMGDataset(ds_dir), tokenizer, progress=progress)
    if backbone != "tiny":
        from agent.recipes.warmup import pretrained_backbone

        source, pre = pretrained_backbone(backbone, benchmark, quick, root, cache, runs, progress)
        assets = LifelongAssets(corpus=corpus, tokenizer=tokenizer, metrics=GenerationMetrics(evaluator, emotion),
                                make_backbone=lambda: load_backbone(source, tokenizer.codebook_size), emotions=load_emotion_labels())
        models = {"dataset": dataset_identity(ds_dir), **_fingerprints(run_dir),
                  "backbone": weights_fingerprint(source) if Path(source).is_dir() else source}
        return assets, {"dataset": cfg.name, "dataset_dir": str(ds_dir), "backbone_dir": source, "pretrain": pre,
                        "models": models, "run_dir": str(run_dir)}
    backbone_dir = run_dir / backbone_folder
    if not (backbone_dir / "config.json").is_file():
        p = config.pretrain
        synth_cfg = load_dataset_config(p.dataset)
        if quick:
            synth_cfg = dataclasses.replace(synth_cfg, name=f"{synth_cfg.name}-quick", variations=1)
        synth_dir, _, _ = prepare(synth_cfg, cache, None, progress=progress)
        synth = TokenCorpus.from_dataset(L2EMGDataset(synth_dir), tokenizer, progress=progress)
        if pretrain_without:
            unknown = sorted(set(pretrain_without) - set(synth.scenarios))
            if unknown:
                raise ValueError(f"pretrain_without: {unknown} are not scenarios of {synth_cfg.name}")
            synth = TokenCorpus([x for x in synth.samples if x.scenario not in set(pretrain_without)], synth.dataset)
        pretrain_tiny(synth, synth.texts("train") + corpus.texts("train"), backbone_dir,
                      QUICK_PRETRAIN_STEPS if quick else p.steps, p.batch, p.lr, p.warmup,
                      seed=config.train.seed, codebook_size=tokenizer.codebook_size, progress=progress)
        report = backbone_dir / "pretrain_report.json"
        atomic_write_text(report, json.dumps({**json.loads(report.read_text()), "scenarios_left_out": sorted(pretrain_without)}))
    pre = json.loads((backbone_dir / "pretrain_report.json").read_text())
    if sorted(pre.get("scenarios_left_out", [])) != sorted(pretrain_without):
        raise ValueError(f"{backbone_dir}: pre-trained without {pre.get('scenarios_left_out', [])}, the protocol asks for "
                         f"{sorted(pretrain_without)}: name another backbone folder")
    assets = LifelongAssets(corpus=corpus, tokenizer=tokenizer, metrics=GenerationMetrics(evaluator, emotion),
                            make_backbone=lambda: load_backbone(str(backbone_dir), tokenizer.codebook_size),
                            emotions=load_emotion_labels())
    models = {"dataset": dataset_identity(ds_dir), **_fingerprints(run_dir), "backbone": weights_fingerprint(backbone_dir)}
    return assets, {"dataset": cfg.name, "dataset_dir": str(ds_dir), "backbone_dir": str(backbone_dir), "pretrain": pre,
                    "models": models, "run_dir": str(run_dir)}


def _fingerprints(run_dir: Path) -> dict[str, str]:
    return {kind: weights_fingerprint(run_dir / kind) for kind in ("tokenizer", "evaluator", "emotion")}
