"""`l2emg warmup`: a pretrained backbone learns the motion vocabulary on the scenarios a benchmark or an
episode declares pre-known, exactly those the tiny backbone is pre-trained on there:

- ``--benchmark B``: the synthetic source of ``configs/esmoe.yaml`` ``pretrain.dataset`` (every lifelong
  scenario of B stays unseen), tokenised by B's VQ tokenizer; validated on that source's val split and on
  B's val split (motion answers of scenarios the warm-up never saw);
- an episode (``--episode FILE``, read by the CLI): the episode dataset's scenarios but those a later phase introduces (or the first
  phase's only, per ``bootstrap.pretrain_on`` of configs/runtime.yaml); validated on both groups' val splits.

``compare_tiny`` also pre-trains the tiny backbone on the same samples with the same budget (steps x batch,
the same draws) and reports its validation loss on the same sets, next to the warmed-up one's.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from pathlib import Path

from agent.recipes.bootstrap_types import BootstrapConfig, BootstrapRequest
from policies.backbone.corpus import TokenCorpus, TokenSample

log = logging.getLogger(__name__)


def _benchmark_data(benchmark: str, quick: bool, root: str | None, cache: str | None, runs: Path,
                    progress: bool) -> tuple[list[TokenSample], dict[str, list[TokenSample]], list[str], dict]:
    from agent.recipes.training import QUICK_ITERATIONS, dataset_config, train_missing
    from policies.data import L2EMGDataset, load_dataset_config, prepare
    from policies.esmoe import load_esmoe_config
    from policies.tokenizer import VQTokenizer

    cfg = dataset_config(benchmark, quick)
    ds_dir, _, _ = prepare(cfg, cache, root, progress=progress)
    run_dir = runs / cfg.name
    train_missing("tokenizer", run_dir / "tokenizer", Path(ds_dir), QUICK_ITERATIONS["tokenizer"] if quick else None, progress)
    tokenizer = VQTokenizer.load(run_dir / "tokenizer")
    corpus = TokenCorpus.from_dataset(L2EMGDataset(ds_dir), tokenizer, progress=progress)
    synth_cfg = load_dataset_config(load_esmoe_config().pretrain.dataset)
    if quick:
        synth_cfg = dataclasses.replace(synth_cfg, name=f"{synth_cfg.name}-quick", variations=1)
    synth_dir, _, _ = prepare(synth_cfg, cache, None, progress=progress)
    synth = TokenCorpus.from_dataset(L2EMGDataset(synth_dir), tokenizer, progress=progress)
    vals = {f"{synth_cfg.name} val (pre-known)": synth.select("val"), f"{cfg.name} val (unseen)": corpus.select("val")}
    info = {"dataset": cfg.name, "warmup_source": synth_cfg.name, "scenarios": synth.scenarios, "tokenizer": str(run_dir / "tokenizer")}
    return synth.select("train"), vals, synth.texts("train") + corpus.texts("train"), info


def _episode_data(req: BootstrapRequest, boot: BootstrapConfig, runs: Path, cache: str | None, progress: bool
                  ) -> tuple[list[TokenSample], dict[str, list[TokenSample]], list[str], dict]:
    from agent.recipes.training import train_missing
    from policies.data import L2EMGDataset, load_dataset_config, prepare
    from policies.tokenizer import VQTokenizer

    ds_cfg = load_dataset_config(req.dataset)
    ds_dir, manifest, _ = prepare(ds_cfg, cache, req.root, progress=progress)
    base = runs / ds_cfg.name
    if boot.shipped_assets:
        from agent.recipes.shipped import install_shipped

        install_shipped(ds_cfg.name, manifest["fingerprint"], base, ["tokenizer"])
    train_missing("tokenizer", base / "tokenizer", Path(ds_dir), boot.tokenizer_iterations, progress, boot.tokenizer_lr,
                  boot.tokenizer_warmup, boot.tokenizer_overrides)
    corpus = TokenCorpus.from_dataset(L2EMGDataset(ds_dir), VQTokenizer.load(base / "tokenizer"), progress=progress)
    every = {s.scenario for s in corpus.samples}
    known = set(req.known) if boot.pretrain_on == "first_phase" else every - set(req.later)
    later = sorted(every - known)
    vals = {"pre-known val": corpus.select("val", sorted(known))}
    if later:
        vals[f"{'+'.join(later)} val (unseen)"] = corpus.select("val", later)
    info = {"dataset": ds_cfg.name, "warmup_source": ds_cfg.name, "scenarios": sorted(known), "later": later,
            "tokenizer": str(base / "tokenizer")}
    return corpus.select("train", sorted(known)), vals, corpus.texts("train"), info


def backbone_slug(backbone: str) -> str:
    """A folder-name part for ``backbone``: ``smollm2-135m`` as it is, a folder by its name."""
    return backbone if backbone == "smollm2-135m" else re.sub(r"[^A-Za-z0-9._-]+", "-", Path(backbone).name)


def warmup_dir(runs: Path, dataset: str, backbone: str) -> Path:
    """Where the warm-up of ``backbone`` for ``dataset`` goes by default."""
    return runs / dataset / f"backbone-{backbone_slug(backbone)}-warmup"


def pretrained_backbone(backbone: str, benchmark: str, quick: bool, root: str | None, cache: str | None,
                        runs: str | Path, progress: bool) -> tuple[str, dict]:
    """(what ``load_backbone`` takes, its warm-up report) for a pretrained ``backbone``: a warm-up output as it is;
    ``smollm2-135m`` or a local folder through its warm-up on the benchmark's pre-known source, run when missing."""
    from agent.recipes.training import dataset_config
    from policies.backbone.motion_rows import read_warmup_manifest

    out = warmed_up(backbone, warmup_dir(Path(runs), dataset_config(benchmark, quick).name, backbone),
                    benchmark=benchmark, runs=str(runs), quick=quick, root=root, cache=cache, progress=progress)
    return str(out), read_warmup_manifest(out).get("report", {})


def warmed_up(backbone: str, out: Path, **warmup_args) -> Path:
    """``backbone`` when it is a warm-up output, else ``out``, where :func:`run_warmup` (given ``warmup_args``:
    a benchmark's or an episode's pre-known source) writes one when none is there yet."""
    from policies.backbone.motion_rows import MANIFEST

    if (Path(backbone) / MANIFEST).is_file():
        return Path(backbone)
    if not (Path(out) / MANIFEST).is_file():
        log.warning("%s: no warm-up of %s, running one (configs/backbone.yaml warmup)", out, backbone)
        run_warmup(backbone, out=str(out), **warmup_args)
    return Path(out)


def run_warmup(backbone: str, benchmark: str | None = None,
               episode: tuple[BootstrapRequest, BootstrapConfig] | None = None, out: str | None = None,
               runs: str = "runs", quick: bool = False, root: str | None = None, cache: str | None = None,
               steps: int | None = None, batch: int | None = None, max_val: int = 256, compare_tiny: bool = False,
               progress: bool = True) -> dict:
    """Warm ``backbone`` up on ``benchmark``'s pre-known source or on an ``episode``'s (its bootstrap request and
    the runtime's bootstrap settings: which scenarios are pre-known); ``steps``/``batch`` override configs/backbone.yaml ``warmup``; ``max_val`` caps
    each validation set (its first samples, a fixed subset)."""
    import resource

    from policies.backbone import load_backbone, load_backbone_config
    from policies.backbone.warmup import warm_up
    from policies.torch_utils import setup_torch

    if (benchmark is None) == (episode is None):
        raise ValueError("warmup: give exactly one of --benchmark or --episode")
    bcfg = load_backbone_config()
    wcfg = dataclasses.replace(bcfg.warmup, **{k: v for k, v in (("steps", steps), ("batch", batch)) if v is not None})
    setup_torch(wcfg.seed)
    runs_dir = Path(runs)
    if benchmark is not None:
        train, vals, vocab_texts, info = _benchmark_data(benchmark, quick, root, cache, runs_dir, progress)
    else:
        train, vals, vocab_texts, info = _episode_data(*episode, runs_dir, cache, progress)
    vals = {k: v[:max_val] for k, v in vals.items() if v}
    out_dir = Path(out) if out else warmup_dir(runs_dir, info["dataset"], backbone)
    log.info("warm-up of %s on %s (%d samples): %d steps x %d", backbone, ", ".join(info["scenarios"]), len(train),
             wcfg.steps, wcfg.batch)
    from policies.tokenizer import VQTokenizer

    codebook = VQTokenizer.load(info["tokenizer"]).codebook_size
    b = load_backbone(backbone, codebook, config=bcfg)
    report = warm_up(b, backbone, train, vals, out_dir, wcfg, progress=progress, extra={"data": info})
    result = {"warmup": report, "out": str(out_dir)}
    if compare_tiny:
        result["tiny_same_budget"] = _tiny_same_budget(train, vals, vocab_texts, out_dir, wcfg, codebook, progress)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    return result


def _tiny_same_budget(train: list[TokenSample], vals: dict[str, list[TokenSample]], vocab_texts: list[str], out_dir: Path,
                      wcfg, codebook: int, progress: bool) -> dict:
    """The tiny backbone pre-trained (whole, its own lr schedule) on the same draws: same steps, batch and seed."""
    from policies.backbone import load_backbone
    from policies.backbone.pretrain import pretrain_tiny
    from policies.backbone.warmup import answer_val_loss
    from policies.esmoe import load_esmoe_config

    p = load_esmoe_config().pretrain
    tiny_dir = out_dir.with_name(f"{out_dir.name}-tiny-same-budget")
    rep = pretrain_tiny(TokenCorpus(train), vocab_texts, tiny_dir, wcfg.steps, wcfg.batch, p.lr,
                        min(p.warmup, max(1, wcfg.steps // 4)), seed=wcfg.seed, codebook_size=codebook, progress=progress)
    tiny = load_backbone(str(tiny_dir), codebook)
    val = {k: round(answer_val_loss(tiny.model, tiny, v), 4) for k, v in vals.items()}
    out = {"dir": str(tiny_dir), "steps": rep["steps"], "batch": wcfg.batch, "seconds": rep["seconds"],
           "parameters": rep["parameters"], "val_loss": val}
    (tiny_dir / "same_budget.json").write_text(json.dumps(out, indent=2))
    return out
