"""`l2emg bench lifelong --select`: each method's own hyperparameters chosen on the validation split, before
the protocol file is frozen. For every point of the grid in the protocol's ``selection`` section the method
trains through the first order with the first seed; the criterion is its mean answer cross-entropy on the
validation windows of every scenario after the last one, through its own inference path (routing, prompts):
forgetting raises it, and it is far less noisy than R-Precision on the small validation split. The output
is the ``methods:`` block to paste into the protocol file, with the scores that chose it. Each scored point is
appended to ``points.jsonl`` in the output folder; a selection killed midway skips, when run again, the points
that folder holds for the same protocol file (sha256), order and seed."""
from __future__ import annotations

import dataclasses
import itertools
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agent.bench.lifelong_methods import METHODS, method_config
from agent.bench.lifelong_protocol import load_benchmark
from agent.bench.lifelong_sequence import scenario_orders, train_stage, training_stages
from envs.atomic import atomic_write_text


def grid(space: dict[str, list[Any]]) -> list[dict[str, Any]]:
    keys = sorted(space)
    return [dict(zip(keys, values)) for values in itertools.product(*(space[k] for k in keys))]


def val_score(learner, assets, scenarios: list[str], batch: int = 64) -> dict[str, float]:
    """Mean validation answer cross-entropy per scenario, and their mean."""
    out = {}
    for s in scenarios:
        val = assets.corpus.select("val", [s])
        losses = [learner.val_loss([x.texts[0] for x in val[i:i + batch]], [x.codes for x in val[i:i + batch]], s) * len(val[i:i + batch])
                  for i in range(0, len(val), batch)]
        out[s] = float(np.sum(losses) / len(val))
    out["mean"] = float(np.mean([out[s] for s in scenarios]))
    return out


POINTS = "points.jsonl"


def _point_key(method: str, values: dict[str, Any]) -> str:
    return json.dumps([method, values], sort_keys=True)


def finished_points(path: Path, sha: str, order: list[str], seed: int) -> dict[str, dict]:
    """The grid points ``path`` already holds for this protocol file (its sha256), order and seed."""
    if not path.is_file():
        return {}
    done = {}
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a kill: that point is trained again
            continue
        if r.get("config_sha256") == sha and r.get("order") == order and r.get("seed") == seed:
            done[_point_key(r["method"], r["values"])] = {k: r[k] for k in ("values", "val_loss", "seconds")}
    return done


def select_on_val(benchmark: str, config_path: str | None = None, root: str | None = None, cache: str | None = None,
                  runs: str = "runs", out: str | None = None, progress: bool = True) -> dict:
    from agent.recipes.benchmark_assets import lifelong_assets

    cfg, sha, path = load_benchmark(config_path or benchmark)
    if not cfg.selection:
        raise ValueError(f"{path}: no `selection` section: nothing to choose")
    assets, info = lifelong_assets(cfg.dataset, cfg.esmoe, cfg.quick_assets, root, cache, runs, progress, cfg.shipped_assets,
                                   cfg.backbone, pretrain_without=cfg.pretrain_without)
    p = cfg.protocol
    scenarios = list(p.scenarios) or assets.corpus.scenarios
    order = scenario_orders(scenarios, 1, seed=p.order_seed, first=list(p.scenarios) or None)[0]
    out_dir = Path(out) if out else Path(runs) / info["dataset"] / f"lifelong-{cfg.name}-select"
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict]] = {}
    chosen: dict[str, dict[str, Any]] = {}
    done = finished_points(out_dir / POINTS, sha, order, p.seeds[0])
    for key, space in cfg.selection.items():
        for point in grid(space):
            earlier = done.get(_point_key(key, point))
            if earlier is not None:  # scored by an earlier, interrupted selection with this very protocol file
                results.setdefault(key, []).append(earlier)
                print(json.dumps({"method": key, **point, "val_loss": round(earlier["val_loss"]["mean"], 4),
                                  "from": POINTS}), flush=True)
                continue
            config = method_config(key, cfg.esmoe, {key: {**cfg.methods.get(key, {}), **point}})
            config = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=p.seeds[0]))
            learner = METHODS[key].make(assets.make_backbone(), config, assets.emotions)
            t0 = time.perf_counter()
            for k, stage in enumerate(training_stages(learner, order)):
                train_stage(learner, stage, k, assets, config, cfg.holdout, progress)
            score = val_score(learner, assets, scenarios)
            row = {"values": point, "val_loss": score, "seconds": round(time.perf_counter() - t0, 1)}
            results.setdefault(key, []).append(row)
            with (out_dir / POINTS).open("a") as f:  # one line a point: a killed selection resumes where it stopped
                f.write(json.dumps({"method": key, "config_sha256": sha, "order": order, "seed": p.seeds[0], **row}) + "\n")
            print(json.dumps({"method": key, **point, "val_loss": round(score["mean"], 4)}), flush=True)
        best = min(results[key], key=lambda r: r["val_loss"]["mean"])
        chosen[key] = {**cfg.methods.get(key, {}), **best["values"]}
    result = {"benchmark": cfg.name, "config_sha256": sha, "order": order, "seed": p.seeds[0], "results": results,
              "methods_block": yaml.safe_dump({"methods": {**cfg.methods, **chosen}}, sort_keys=False)}
    atomic_write_text(out_dir / "selection.json", json.dumps(result, indent=2))
    return result
