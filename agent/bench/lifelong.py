"""`l2emg bench lifelong`: every method x every scenario order, the paper-style table, ablations,
matrices, heatmaps and a markdown report under ``runs/<name>/``."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from agent.bench.lifelong_report import aggregate, write_report
from agent.bench.lifelong_sequence import CellEvaluator, reference_rows, run_sequence, scenario_orders
from agent.recipes.benchmark_assets import quick_config
from policies.baselines.methods import BASELINES
from policies.esmoe.config import load_esmoe_config
from policies.esmoe.model import ESMoE, PrototypeRoutedESMoE, make_ablation

METHODS = {"es-moe": ESMoE, "es-moe-proto": PrototypeRoutedESMoE, "mtl": BASELINES["MTL"], "seqlora": BASELINES["SeqLoRA"], "lwf-lora": BASELINES["LwF-LoRA"],
           "o-lora": BASELINES["O-LoRA"]}
ABLATIONS = {"wo-cged": make_ablation("w/o CGED"), "wo-samoe": make_ablation("w/o SAMoE"), "wo-lemo": make_ablation("w/o L_emo"),
             # the same ablations routed like es-moe-proto (w/o SAMoE has one shared LoRA: no routing to vary)
             "wo-cged-proto": make_ablation("w/o CGED", "prototype"), "wo-lemo-proto": make_ablation("w/o L_emo", "prototype")}


def resolve_methods(names: list[str]) -> list[str]:
    out = []
    for n in names:
        for part in n.split(","):
            key = part.strip().lower()
            if not key:
                continue
            if key not in METHODS and key not in ABLATIONS:
                raise ValueError(f"unknown method {part!r} (known: {', '.join(list(METHODS) + list(ABLATIONS))})")
            out.append(key)
    return out


def run_lifelong(benchmark: str, methods: list[str], orders: int = 3, setting: str = "unseen", split: str = "test",
                 quick: bool = False, config_path: str | None = None, out: str | None = None, root: str | None = None,
                 cache: str | None = None, runs: str = "runs", progress: bool = True,
                 ablation_orders: int | None = None, overrides: dict[str, str] | None = None, backbone: str = "tiny") -> dict:
    from agent.recipes.benchmark_assets import lifelong_assets

    if setting != "unseen":
        raise ValueError(f"setting {setting!r}: only 'unseen' is implemented (the 'mixed' setting is not built yet)")
    keys = resolve_methods(methods)
    from envs.config import apply_overrides

    config = apply_overrides(load_esmoe_config(config_path), overrides or {}, "--set esmoe.*")
    if quick:
        config = quick_config(config)
    t0 = time.perf_counter()
    assets, info = lifelong_assets(benchmark, config, quick, root, cache, runs, progress, backbone=backbone)
    out_dir = Path(out) if out else Path(runs) / info["dataset"] / f"lifelong-{split}"
    out_dir.mkdir(parents=True, exist_ok=True)
    evaluate = CellEvaluator(assets, config, split)
    all_orders = scenario_orders(assets.corpus.scenarios, orders, seed=config.train.seed)
    reference = reference_rows(assets, evaluate, assets.corpus.scenarios)
    cells = (out_dir / "cells.jsonl").open("w")

    def log_cell(row: dict) -> None:
        cells.write(json.dumps(row) + "\n")
        cells.flush()

    runs_done, expert_fraction = [], {}
    for key in keys:
        cls = METHODS.get(key) or ABLATIONS[key]
        n_orders = 1 if cls.joint else (ablation_orders or orders) if key in ABLATIONS else orders
        for i, order in enumerate(all_orders[:n_orders]):
            r = run_sequence(cls, order, assets, config, evaluate, progress, log=log_cell)
            r["order_index"] = i
            learner = r.pop("learner")
            if key == "es-moe":
                expert_fraction = {"expert_parameters": learner.expert_parameters(),
                                   "backbone_parameters": r["backbone_parameters"],
                                   "fraction": round(learner.expert_parameters() / r["backbone_parameters"], 4)}
            runs_done.append(r)
            print(json.dumps({"method": r["method"], "order": i, **{k: round(v, 3) for k, v in r["summary"].items()}}), flush=True)
    cells.close()
    main = [r for r in runs_done if not r["method"].startswith("ES-MoE w/o")]
    abl_orders = {r["order_index"] for r in runs_done if r["method"].startswith("ES-MoE w/o")}
    abl = [r for r in runs_done if r["method"].startswith("ES-MoE") and (r["order_index"] in abl_orders or not abl_orders)]
    result = {
        "overrides": {f"esmoe.{k}": v for k, v in (overrides or {}).items()},
        "benchmark": benchmark, "dataset": info["dataset"], "setting": setting, "split": split, "quick": quick,
        "backbone": ("tiny (pretrained on " + config.pretrain.dataset + ")" if backbone == "tiny"
                     else f"{backbone} (warm-up {info['backbone_dir']})"), "pretrain": info["pretrain"],
        "backbone_parameters": runs_done[0]["backbone_parameters"] if runs_done else None,
        "orders": orders, "ablation_orders": ablation_orders or orders, "scenario_orders": all_orders[:orders], "steps_per_scenario": config.train.steps_per_scenario,
        "batch": config.train.batch, "config": dataclasses.asdict(config),
        "table": aggregate(main), "ablations": aggregate(abl) if len({r["method"] for r in abl}) > 1 else {},
        "expert_size": expert_fraction, "reference": reference,
        "runs": [{"method": r["method"], "order": r["order"], "summary": r["summary"], "training": r["training"],
                  "matrix": r["matrix"].to_dict()} for r in runs_done],
    }
    result["seconds"] = round(time.perf_counter() - t0, 1)
    write_report(out_dir, result, runs_done)
    result["report"] = str(out_dir / "report.md")
    return result
