"""Everything a closed-loop episode needs, reused when present and trained when missing (the
"bootstrap"): the prepared dataset, the VQ tokenizer, the judges' evaluator and emotion classifier, the
perception estimator, a backbone that knows motion on every scenario except those a later phase
introduces (so that they are genuinely unseen: the tiny one pre-trained here, or a pretrained LLM warmed up on
the motion vocabulary), and an ES-MoE generator with one expert per first-phase scenario."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from agent.recipes.bootstrap_types import BootstrapConfig, BootstrapRequest, RuntimeAssets
from agent.recipes.training import train_missing

log = logging.getLogger(__name__)

__all__ = ["BootstrapConfig", "BootstrapRequest", "RuntimeAssets", "bootstrap_assets"]


def bootstrap_assets(request: BootstrapRequest, config: BootstrapConfig, runs: str | Path = "runs", cache: str | None = None,
                     progress: bool = True) -> RuntimeAssets:
    from policies.data import load_dataset_config, prepare
    from policies.esmoe.store import is_checkpoint, read_manifest

    runs = Path(runs)
    t0 = time.perf_counter()
    ds_cfg = load_dataset_config(request.dataset)
    ds_dir, manifest, _ = prepare(ds_cfg, cache, request.root, progress=progress)
    base = runs / ds_cfg.name
    known, later = tuple(request.known), tuple(request.later)
    tag = "+".join(known)
    tiny = request.backbone == "tiny"
    if not tiny:
        from agent.recipes.warmup import backbone_slug, warmed_up  # torch-heavy: only for a pretrained backbone
    slug = "tiny" if tiny else backbone_slug(request.backbone)
    backbone_dir = base / (f"backbone-{slug}-without-{'+'.join(later)}" if config.pretrain_on == "all_but_later" and later
                           else f"backbone-{slug}-{tag}")
    generator_name = f"generator-{tag}" if tiny else f"generator-{tag}-{slug}"
    fresh = not (base / "tokenizer").exists()
    if not fresh:
        check_build(base, ds_cfg.name, manifest["fingerprint"])
    if config.shipped_assets:
        from agent.recipes.shipped import install_shipped

        install_shipped(ds_cfg.name, manifest["fingerprint"], base, ["tokenizer", "evaluator", "emotion", "perception",
                        backbone_dir.name, generator_name])
    train_missing("tokenizer", base / "tokenizer", Path(ds_dir), config.tokenizer_iterations, progress,
                  config.tokenizer_lr, config.tokenizer_warmup, config.tokenizer_overrides)
    train_missing("evaluator", base / "evaluator", Path(ds_dir), config.evaluator_iterations, progress)
    if not (base / "emotion" / "model.safetensors").is_file():
        from policies.tokenizer import VQTokenizer

        # the emotional judge reads generated motion: it also learns from motion passed through the token language
        train_missing("emotion", base / "emotion", Path(ds_dir), config.emotion_iterations, progress,
                      tokenizer=VQTokenizer.load(base / "tokenizer"))
    perception = base / "perception"
    if not (perception / "perception.json").is_file():
        from policies.perception.train import train_perception

        log.info("bootstrap: fitting the perception estimator -> %s", perception)
        train_perception(base / "emotion", ds_dir, perception, eval_utterances=None, progress=progress)
    generator = Path(request.generator) if request.generator else base / generator_name
    if is_checkpoint(generator):  # an existing generator is used as it is, never retrained over
        backbone_dir = Path(read_manifest(generator)["backbone_dir"])
    else:
        if not tiny:  # taught the motion vocabulary on the pre-known scenarios (`l2emg warmup --episode`)
            backbone_dir = warmed_up(request.backbone, backbone_dir, episode=(request, config), runs=str(runs),
                                     cache=cache, progress=progress)
        _bootstrap_generator(Path(ds_dir), base / "tokenizer", backbone_dir, generator, known, later, config, progress)
    if fresh:
        record_build(base, ds_cfg.name, manifest["fingerprint"])
    log.info("bootstrap: assets ready in %.0f s (%s)", time.perf_counter() - t0, base)
    return RuntimeAssets(ds_cfg.name, str(ds_dir), str(base / "tokenizer"), str(base / "evaluator"), str(base / "emotion"),
                         str(perception), str(backbone_dir), str(generator), known)


BUILD = "BUILD.json"  # runs/<dataset>/: which build of the dataset its models were trained on (or shipped for)


def record_build(base: Path, dataset: str, fingerprint: str) -> None:
    from envs.atomic import atomic_write_text

    atomic_write_text(base / BUILD, json.dumps({"dataset": dataset, "fingerprint": fingerprint}, indent=2) + "\n")


def check_build(base: Path, dataset: str, fingerprint: str) -> bool:
    """Whether the models already in ``base`` were made for this build of ``dataset``; a warning when not, or when
    unknown. They are used as they are either way (a user's own models are never replaced behind their back), but
    models of an older procedural source, after an update, would silently judge and generate the old motions."""
    path = base / BUILD
    recorded = json.loads(path.read_text()).get("fingerprint") if path.is_file() else None
    if recorded == fingerprint:
        return True
    why = (f"were trained on another build of {dataset} (fingerprint {recorded} != {fingerprint}: its config, texts or "
           "the code that makes it changed)" if recorded else
           f"do not record which build of {dataset} they were trained on (a runs folder from before 2026-12-04)")
    log.warning("bootstrap: the models in %s %s; using them as they are. To install or train models for this build, "
                "delete %s (or run with another --runs)", base, why, base)
    return False


def _bootstrap_generator(ds_dir: Path, tokenizer_dir: Path, backbone_dir: Path, out: Path, known: tuple[str, ...],
                         later: tuple[str, ...], config: BootstrapConfig, progress: bool) -> None:
    import dataclasses
    import json

    from envs.atomic import atomic_write_text

    from policies.backbone import load_backbone
    from policies.backbone.corpus import TokenCorpus
    from policies.backbone.pretrain import pretrain_tiny
    from policies.data import L2EMGDataset
    from policies.data.config import load_emotion_labels
    from policies.esmoe import ESMoE, load_esmoe_config
    from policies.esmoe.store import save_esmoe
    from policies.esmoe.trainer import learn_scenario
    from policies.tokenizer import VQTokenizer

    tokenizer = VQTokenizer.load(tokenizer_dir)
    corpus = TokenCorpus.from_dataset(L2EMGDataset(ds_dir), tokenizer, progress=progress)
    esm = load_esmoe_config()
    from policies.backbone.motion_rows import MANIFEST

    if not (backbone_dir / "config.json").is_file() and not (backbone_dir / MANIFEST).is_file():
        if config.pretrain_on == "first_phase":
            scenarios = set(known)
        else:  # a backbone that knows motion broadly, like a pretrained LLM, but has never seen the new scenarios
            scenarios = {s.scenario for s in corpus.samples} - set(later)
        log.info("bootstrap: pre-training the tiny backbone on %s -> %s", ", ".join(sorted(scenarios)), backbone_dir)
        seen = TokenCorpus([s for s in corpus.samples if s.scenario in scenarios], corpus.dataset)
        # the vocabulary covers every text of the source (a tokenizer, not knowledge): new scenarios stay expressible
        pretrain_tiny(seen, corpus.texts("train"), backbone_dir, config.pretrain_steps, esm.pretrain.batch, esm.pretrain.lr,
                      min(esm.pretrain.warmup, config.pretrain_steps // 4), seed=esm.train.seed,
                      codebook_size=tokenizer.codebook_size, progress=progress)
    settings = dataclasses.replace(esm.train, steps_per_scenario=config.expert_steps, batch=config.batch)
    # routing by stored centroids keeps old scenarios exactly where they were when a new expert lands
    # (synth-8 val, after adding dance: learned gate daily_life 46 -> 23 %, sports 38 -> 15 %; prototype: unchanged)
    esm = dataclasses.replace(esm, train=settings, gate=dataclasses.replace(esm.gate, inference=config.routing,
                                                                            prototypes=config.prototypes))
    model = ESMoE(load_backbone(str(backbone_dir), tokenizer.codebook_size), esm, load_emotion_labels())
    stats = []
    for i, sc in enumerate(known):
        log.info("bootstrap: training the %s expert (%d steps)", sc, config.expert_steps)
        stats.append(learn_scenario(model, sc, corpus.select("train", [sc]), settings, seed=settings.seed + i, progress=progress))
    save_esmoe(model, out, extra={"dataset": corpus.dataset.name, "backbone_dir": str(backbone_dir), "training": stats,
                                  "tokenizer_dir": str(tokenizer_dir)})
    atomic_write_text(out.parent / f"{out.name}.bootstrap.json", json.dumps({"known": list(known), "training": stats}, indent=2))
