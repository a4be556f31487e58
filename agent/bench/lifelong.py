"""`l2emg bench lifelong`: every method of a frozen protocol (``configs/benchmarks/<name>.yaml``) through
seeds x scenario orders, resumable over a results folder in parts, then the table with intervals, paired
differences against the paper's ES-MoE and the minimum detectable difference (``report.md``)."""
from __future__ import annotations

import dataclasses
import json
import logging
import resource
import time
from pathlib import Path

from agent.bench.lifelong_methods import METHODS, inference_config, method_config, resolve_methods, training_groups
from agent.bench.lifelong_protocol import code_version, load_benchmark, read_test_reads, record_test_read
from agent.bench.lifelong_report import paired, table, transfer_table, write_report
from agent.bench.lifelong_runs import PlannedRun, RunStore, Schedule, plan_runs, shard_plan
from agent.bench.lifelong_sequence import CellEvaluator, reference_rows, run_sequence, scenario_orders
from envs.atomic import atomic_write_text
from envs.config import apply_overrides

log = logging.getLogger(__name__)


def default_benchmark(benchmark: str, quick: bool) -> str:
    """The protocol file: ``configs/benchmarks/<benchmark>.yaml``, or ``quick.yaml`` for CI's --quick."""
    return "quick" if quick else benchmark


def run_lifelong(benchmark: str = "bandai-4", methods: list[str] | None = None, split: str = "test", quick: bool = False,
                 config_path: str | None = None, out: str | None = None, root: str | None = None, cache: str | None = None,
                 runs: str = "runs", progress: bool = True, resume: bool = False, max_hours: float | None = None,
                 seeds: list[int] | None = None, orders: int | None = None, overrides: dict[str, str] | None = None,
                 setting: str = "unseen", backbone: str | None = None, shard: tuple[int, int] | None = None) -> dict:
    """Runs what the results folder does not hold yet (all of it without ``resume``), within ``max_hours``
    (default: the protocol's part length), and writes the report of everything the folder holds. ``backbone``:
    ``tiny`` (default) or a pretrained one (``smollm2-135m``, a local HF folder, a warm-up output), warmed up
    on the benchmark's pre-training source when no warm-up exists (a protocol change, named in the overrides).
    ``shard`` (I, N): train only every N-th planned run from the I-th, so N processes on N cores fill one folder
    (implies ``resume``); the report is of everything the folder holds, and ``complete`` of the whole plan."""
    from agent.recipes.benchmark_assets import carry_models, lifelong_assets

    if setting != "unseen":
        raise ValueError(f"setting {setting!r} is not offered: the paper's 'mixed' setting is not defined in what we can "
                         "read (DESIGN §6); only 'unseen' (scenarios in sequence) is")
    cfg, sha, path = load_benchmark(config_path or default_benchmark(benchmark, quick))
    changed = dict(overrides or {})
    base = apply_overrides(cfg.esmoe, changed, "--set esmoe.*")
    p = cfg.protocol
    if seeds is not None:
        changed["protocol.seeds"] = str(seeds)
    if orders is not None:
        changed["protocol.orders"] = str(orders)
    p = dataclasses.replace(p, seeds=list(seeds) if seeds is not None else p.seeds, orders=orders or p.orders)
    keys = resolve_methods(methods) if methods else list(p.methods) + list(p.ablations)
    t0 = time.perf_counter()
    version = code_version()  # before anything trains: the code this process runs, not what HEAD becomes meanwhile
    if backbone and backbone != "tiny":
        changed["backbone"] = backbone
    out_dir = Path(out) if out else default_out(runs, cfg, split)
    _install_carried(out_dir, runs, cfg)
    assets, info = lifelong_assets(cfg.dataset, base, cfg.quick_assets, root, cache, runs, progress, cfg.shipped_assets,
                                   cfg.backbone, backbone=backbone or "tiny", pretrain_without=cfg.pretrain_without)
    scenarios = list(p.scenarios) or assets.corpus.scenarios
    missing = sorted(set(scenarios) - set(assets.corpus.scenarios))
    if missing:
        raise ValueError(f"{path}: scenarios {missing} are not in {info['dataset']} ({', '.join(assets.corpus.scenarios)})")
    all_orders = scenario_orders(scenarios, p.orders, seed=p.order_seed, first=list(p.scenarios) or None)
    store = RunStore(out_dir)
    shard_label = f"{shard[0]}/{shard[1]}" if shard else None
    manifest = store.open({"benchmark": cfg.name, "config_path": str(path), "config_sha256": sha, "split": split,
                           "dataset": info["dataset"], "models": info["models"], "overrides": changed, **version}, resume or shard is not None,
                          shard_label)
    evaluate = CellEvaluator(assets, base, split)
    eval_items = {s: {"windows": [i.sample.sample_id for i in evaluate.items_of(s)],
                      "emotions": [i.sample.emotion for i in evaluate.items_of(s)]} for s in scenarios}
    items_path = out_dir / "eval_items.json"
    if items_path.is_file() and json.loads(items_path.read_text()) != eval_items:
        raise ValueError(f"{out_dir}: the evaluation items differ from the ones its runs were scored on")
    atomic_write_text(items_path, json.dumps(eval_items))
    carry_models(out_dir, Path(info["run_dir"]), info["backbone_dir"])

    groups = training_groups(keys)
    ablation_orders = p.ablation_orders or p.orders
    joint = {k for k in groups if METHODS[k].joint}
    plan = plan_runs(groups, p.seeds, all_orders, joint,
                     {k: ablation_orders for k, v in groups.items() if all(METHODS[x].kind == "ablation" for x in v)})
    budget = (max_hours if max_hours is not None else p.part_hours) * 3600
    schedule = Schedule(shard_plan(plan, *shard) if shard else plan, store, budget)
    # one table scored by N shards is one read of the test split: shard 0 counts it
    if split == "test" and schedule.todo and (shard is None or shard[0] == 0):
        record_test_read(info["dataset_dir"], {"benchmark": cfg.name, "config_sha256": sha, "out": str(out_dir),
                                               "methods": keys, "commit": version["commit"]})
    stopped = _run_plan(schedule, store, assets, evaluate, base, cfg.methods, progress, out_dir, cfg.holdout)

    records = store.finished()
    finished = sum(store.done(r) for r in plan)  # every shard's runs, not only this process's
    reference_path = out_dir / "reference.json"
    if not reference_path.is_file():
        atomic_write_text(reference_path, json.dumps(reference_rows(assets, evaluate, scenarios)))
    main_rows = [k for k in keys if METHODS[k].kind != "ablation"]
    abl_rows = [k for k in keys if METHODS[k].kind == "ablation"]
    labels = list(assets.metrics.emotion.labels) if assets.metrics.emotion is not None else list(assets.emotions)
    rs, bs = p.bootstrap_resamples, p.bootstrap_seed
    result = {
        "benchmark": cfg.name, "dataset": info["dataset"], "split": split, "quick": quick, "setting": "unseen",
        "config_path": str(path), "config_sha256": sha, "overrides": changed, "manifest": store.manifest(),
        "protocol": dataclasses.asdict(p), "scenario_orders": all_orders, "steps_per_scenario": base.train.steps_per_scenario,
        "batch": base.train.batch, "texts_per_window": base.eval.texts_per_window,
        "items": {s: len(v["windows"]) for s, v in eval_items.items()},
        "test_reads": len(read_test_reads(info["dataset_dir"])) if split == "test" else None,
        "backbone": ("tiny (pretrained on " + base.pretrain.dataset + ")" if (backbone or "tiny") == "tiny"
                     else f"{backbone} (warm-up {info['backbone_dir']})"), "pretrain": info["pretrain"],
        "table": table(records, main_rows, eval_items, labels, rs, bs),
        "ablations": table(records, abl_rows, eval_items, labels, rs, bs),
        "differences": paired(records, p.compare_to, main_rows, eval_items, labels, rs, bs),
        "ablation_differences": paired(records, p.compare_to, abl_rows, eval_items, labels, rs, bs) if abl_rows else {},
        "holdout": cfg.holdout,
        "transfer": transfer_table(records, keys, eval_items, labels, rs, bs, cfg.holdout, p.compare_to) if cfg.holdout else {},
        "reference": json.loads(reference_path.read_text()),
        "runs_planned": len(plan), "runs_finished": finished, "complete": finished == len(plan), "shard": shard_label,
        "stopped_for_budget": stopped, "eta_remaining_s": schedule.eta(),
        "seconds_this_part": round(time.perf_counter() - t0, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "run_seconds": {k: [r["seconds"] for r in records if r["method"] == k] for k in keys},
        "run_cpu_seconds": {k: [r.get("cpu_seconds") for r in records if r["method"] == k] for k in keys},
        "commits": sorted({r["commit"] for r in records}),
    }
    result["report"] = write_report(out_dir, result, records)
    atomic_write_text(out_dir / "result.json", json.dumps(result, indent=2, default=str))
    return result


def prepare_lifelong(benchmark: str = "bandai-4", quick: bool = False, config_path: str | None = None,
                     root: str | None = None, cache: str | None = None, runs: str = "runs", progress: bool = True,
                     overrides: dict[str, str] | None = None, backbone: str | None = None, out: str | None = None) -> dict:
    """Builds what every run of the protocol shares (the prepared dataset, tokenizer, evaluator, emotion
    classifier, backbone; reused when present) and returns their fingerprints; trains no method, scores nothing.
    Run it once before starting ``--shard`` processes, so they do not each build the same models. Models the
    results folder ``out`` carries (``out/models``, from the machine that started the table) are installed first;
    otherwise the ones built here are copied there."""
    from agent.recipes.benchmark_assets import carry_models, lifelong_assets

    cfg, sha, _ = load_benchmark(config_path or default_benchmark(benchmark, quick))
    base = apply_overrides(cfg.esmoe, dict(overrides or {}), "--set esmoe.*")
    out_dir = Path(out) if out else default_out(runs, cfg, "test")
    installed = _install_carried(out_dir, runs, cfg)
    _, info = lifelong_assets(cfg.dataset, base, cfg.quick_assets, root, cache, runs, progress, cfg.shipped_assets,
                              cfg.backbone, backbone=backbone or "tiny", pretrain_without=cfg.pretrain_without)
    carry_models(out_dir, Path(info["run_dir"]), info["backbone_dir"])
    return {"benchmark": cfg.name, "config_sha256": sha, "installed_from_results_folder": installed, "out": str(out_dir),
            **{k: info[k] for k in ("dataset", "dataset_dir", "backbone_dir", "models")}}


def _dataset_runs(runs: str, cfg) -> Path:
    """Where the protocol's dataset keeps its models: ``runs/<dataset>``."""
    from agent.recipes.training import dataset_config

    return Path(runs) / dataset_config(cfg.dataset, cfg.quick_assets).name


def default_out(runs: str, cfg, split: str) -> Path:
    """The results folder when no --out is given: ``runs/<dataset>/lifelong-<protocol>-<split>``."""
    return _dataset_runs(runs, cfg) / f"lifelong-{cfg.name}-{split}"


def _install_carried(out_dir: Path, runs: str, cfg) -> list[str]:
    """The models a results folder carries, copied into the runs folder before anything would build them."""
    from agent.recipes.benchmark_assets import install_carried

    installed = install_carried(out_dir, _dataset_runs(runs, cfg))
    if installed:
        log.warning("%s: installed the models its runs were scored by: %s", out_dir, ", ".join(installed))
    return installed


def _run_plan(schedule: Schedule, store: RunStore, assets, evaluate: CellEvaluator, base, chosen: dict, progress: bool,
              out_dir: Path, holdout: dict[str, list[str]]) -> bool:
    """Trains and scores the schedule's runs in order; True when the part's time budget stopped it early."""
    from tqdm import tqdm

    version = code_version()
    bar = tqdm(total=schedule.total, initial=schedule.total - len(schedule.todo), desc="lifelong runs", unit="run",
               disable=not progress, dynamic_ncols=True)
    cells = (out_dir / "cells.jsonl").open("a")
    try:
        for run in list(schedule.todo):
            if not schedule.fits(run):
                log.warning("part budget reached: %d runs left (continue with --resume)", len(schedule.todo))
                return True
            bar.set_postfix_str(run.label)
            config = method_config(run.train_key, base, chosen)
            config = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=run.seed))
            views = {v: inference_config(v, config) for v in run.views}
            t, cpu = time.perf_counter(), time.process_time()
            res = run_sequence(METHODS[run.train_key].make, run.order, assets, config, evaluate, views, progress,
                               log=lambda row: (cells.write(json.dumps(row) + "\n"), cells.flush()), holdout=holdout)
            seconds = round(time.perf_counter() - t, 1)
            # CPU seconds of this process: on a shared machine wall time depends on the neighbours, CPU time much less
            _save(store, run, res, seconds, version, round(time.process_time() - cpu, 1))
            schedule.finished(run, seconds)
            bar.update(1)
            eta = schedule.eta()
            msg = {"run": run.label, "seconds": seconds, "left": len(schedule.todo),
                   "eta_h": round(eta / 3600, 2) if eta is not None else None,
                   **{v: {k: round(x, 3) for k, x in r["summary"].items()} for v, r in res.items()}}
            (bar.write if progress else log.info)(json.dumps(msg))
    finally:
        cells.close()
        bar.close()
    return False


def _save(store: RunStore, run: PlannedRun, res: dict, seconds: float, version: dict, cpu_seconds: float) -> None:
    for view, r in res.items():
        store.save(view, run.seed, run.order_index, {
            "method": view, "label": METHODS[view].label, "train_key": run.train_key, "seed": run.seed,
            "order_index": run.order_index, "order": r["order"], "joint": METHODS[run.train_key].joint,
            "summary": r["summary"], "matrix": r["matrix"].to_dict(), "cells": r["cells"], "training": r["training"],
            "seconds": seconds, "cpu_seconds": cpu_seconds, "expert_parameters": r["expert_parameters"], "backbone_parameters": r["backbone_parameters"],
            "commit": version["commit"], "dirty": version["dirty"]})
