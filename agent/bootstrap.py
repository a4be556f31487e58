"""Everything a closed-loop episode needs, reused when present and trained when missing (the
"bootstrap"): the prepared dataset, the VQ tokenizer, the judges' evaluator and emotion classifier, the
perception estimator, a tiny backbone pre-trained on every scenario except those a later phase
introduces (so that they are genuinely unseen), and an ES-MoE generator with one expert per
first-phase scenario."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from agent.bench_assets import train_missing
from agent.episode import EpisodeConfig
from agent.runtime_config import BootstrapConfig


@dataclass(frozen=True)
class RuntimeAssets:
    dataset: str
    dataset_dir: str
    tokenizer: str
    evaluator: str
    emotion: str
    perception: str
    backbone: str
    generator: str  # the initial ES-MoE checkpoint (experts for the known scenarios)
    known_scenarios: tuple[str, ...]


def bootstrap_assets(episode: EpisodeConfig, config: BootstrapConfig, runs: str | Path = "runs", cache: str | None = None,
                     progress: bool = True, say=print) -> RuntimeAssets:
    from policies.data import load_dataset_config, prepare

    runs = Path(runs)
    t0 = time.perf_counter()
    ds_cfg = load_dataset_config(episode.dataset)
    ds_dir, manifest, _ = prepare(ds_cfg, cache, episode.root, progress=progress)
    base = runs / ds_cfg.name
    known = tuple(episode.phases[0].scenarios)
    tag = "+".join(known)
    later = later_scenarios(episode)
    backbone_dir = base / (f"backbone-tiny-without-{'+'.join(later)}" if config.pretrain_on == "all_but_later" and later
                           else f"backbone-tiny-{tag}")
    if config.shipped_assets:
        from agent.shipped_assets import install_shipped

        install_shipped(ds_cfg.name, manifest["fingerprint"], base, ["tokenizer", "evaluator", "emotion", "perception",
                        backbone_dir.name, f"generator-{tag}"], say=say)
    train_missing("tokenizer", base / "tokenizer", Path(ds_dir), config.tokenizer_iterations, progress,
                  config.tokenizer_lr, config.tokenizer_warmup)
    train_missing("evaluator", base / "evaluator", Path(ds_dir), config.evaluator_iterations, progress)
    if not (base / "emotion" / "model.safetensors").is_file():
        from policies.tokenizer import VQTokenizer

        # the emotional judge reads generated motion: it also learns from motion passed through the token language
        train_missing("emotion", base / "emotion", Path(ds_dir), config.emotion_iterations, progress,
                      tokenizer=VQTokenizer.load(base / "tokenizer"))
    perception = base / "perception"
    if not (perception / "perception.json").is_file():
        from policies.perception.train import train_perception

        say(f"bootstrap: fitting the perception estimator -> {perception}")
        train_perception(base / "emotion", ds_dir, perception, eval_utterances=None, progress=progress)
    generator = Path(episode.generator) if episode.generator else base / f"generator-{tag}"
    if (generator / "manifest.json").is_file():  # an existing generator is used as it is, never retrained over
        backbone_dir = Path(json.loads((generator / "manifest.json").read_text())["backbone_dir"])
    else:
        _bootstrap_generator(Path(ds_dir), base / "tokenizer", backbone_dir, generator, known, later, config, progress, say)
    say(f"bootstrap: assets ready in {time.perf_counter() - t0:.0f} s ({base})")
    return RuntimeAssets(ds_cfg.name, str(ds_dir), str(base / "tokenizer"), str(base / "evaluator"), str(base / "emotion"),
                         str(perception), str(backbone_dir), str(generator), known)


def later_scenarios(episode: EpisodeConfig) -> tuple[str, ...]:
    """The scenarios an episode introduces after its first phase: bootstrap never trains on them."""
    first = set(episode.phases[0].scenarios)
    return tuple(sorted({sc for ph in episode.phases[1:] for sc in ph.scenarios} - first))


def _bootstrap_generator(ds_dir: Path, tokenizer_dir: Path, backbone_dir: Path, out: Path, known: tuple[str, ...],
                         later: tuple[str, ...], config: BootstrapConfig, progress: bool, say) -> None:
    import dataclasses

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
    if not (backbone_dir / "config.json").is_file():
        if config.pretrain_on == "first_phase":
            scenarios = set(known)
        else:  # a backbone that knows motion broadly, like a pretrained LLM, but has never seen the new scenarios
            scenarios = {s.scenario for s in corpus.samples} - set(later)
        say(f"bootstrap: pre-training the tiny backbone on {', '.join(sorted(scenarios))} -> {backbone_dir}")
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
        say(f"bootstrap: training the {sc} expert ({config.expert_steps} steps)")
        stats.append(learn_scenario(model, sc, corpus.select("train", [sc]), settings, seed=settings.seed + i, progress=progress))
    save_esmoe(model, out, extra={"dataset": corpus.dataset.name, "backbone_dir": str(backbone_dir), "training": stats,
                                  "tokenizer_dir": str(tokenizer_dir)})
    (out.parent / f"{out.name}.bootstrap.json").write_text(json.dumps({"known": list(known), "training": stats}, indent=2))
