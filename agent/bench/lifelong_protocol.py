"""The frozen protocol of a lifelong benchmark (``configs/benchmarks/<name>.yaml``): every choice (seeds,
orders, scenarios, rows, step budget, evaluation sizes, each method's hyperparameters) made on the
validation split and written in one file whose hash the report prints; and the count of how many times a
test split has been scored, kept beside the prepared dataset."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.bench.lifelong_methods import METHODS, method_config
from agent.recipes.shipped import shipped_models
from envs.config import ConfigError, config_dir, load_config
from policies.data.config import load_emotion_labels
from policies.esmoe.config import ESMoEConfig

TEST_READS = "test_reads.jsonl"  # beside the prepared dataset's cache


@dataclass(frozen=True)
class ProtocolSettings:
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # training seeds
    orders: int = 3  # scenario orders: alphabetical, then seeded permutations
    order_seed: int = 0  # draws the permutations (independent of the training seeds)
    scenarios: list[str] = field(default_factory=list)  # empty: every scenario (order 0 alphabetical); else order 0 as listed
    methods: list[str] = field(default_factory=list)  # the main table's rows, in order
    ablations: list[str] = field(default_factory=list)  # the ablation table's rows
    ablation_orders: int = 0  # 0: as many as `orders`
    compare_to: str = "es-moe"  # the row every other one is compared with (paired differences)
    bootstrap_resamples: int = 2000
    bootstrap_seed: int = 0
    part_hours: float = 2.5  # a run stops starting new trainings past this; --resume continues


@dataclass(frozen=True)
class BenchmarkConfig:
    name: str
    dataset: str  # dataset config (configs/datasets/<dataset>.yaml)
    quick_assets: bool = False  # small tokenizer/evaluator/classifier/backbone, Bandai dataset-1 only
    shipped_assets: bool = False  # use the models shipped in assets/<dataset>/ (nothing trained before the runs)
    backbone: str = "backbone-tiny"  # backbone folder under runs/<dataset>/ (pretrained on the synthetic source if missing)
    pretrain_without: list[str] = field(default_factory=list)  # scenarios kept out of that pre-training (when it runs here)
    holdout: dict[str, list[str]] = field(default_factory=dict)  # scenario -> emotions never trained in it (tested there)
    protocol: ProtocolSettings = field(default_factory=ProtocolSettings)
    esmoe: ESMoEConfig = field(default_factory=ESMoEConfig)  # every generator, trainer and evaluation setting
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)  # per method: values chosen on val (dotted keys)
    selection: dict[str, dict[str, list[Any]]] = field(default_factory=dict)  # per method: the val grid (--select)
    notes: dict[str, str] = field(default_factory=dict)  # per choice: how it was made (shown in the report)


def benchmark_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    return p if p.suffix in (".yaml", ".yml") else config_dir() / "benchmarks" / f"{name_or_path}.yaml"


def load_benchmark(name_or_path: str) -> tuple[BenchmarkConfig, str, Path]:
    """The benchmark config, the sha256 of its file, and its path; every method named and every per-method
    value is checked here, before anything trains."""
    path = benchmark_path(name_or_path)
    cfg = load_config(path, BenchmarkConfig)
    p = cfg.protocol
    for key in list(p.methods) + list(p.ablations) + list(cfg.methods) + list(cfg.selection) + [p.compare_to]:
        if key not in METHODS:
            raise ConfigError(f"{path}: unknown method {key!r} (known: {', '.join(METHODS)})")
    for key in set(p.methods) | set(p.ablations):
        try:
            method_config(key, cfg.esmoe, cfg.methods)  # raises on a bad key or value
        except (ValueError, ConfigError) as e:
            raise ConfigError(f"{path}: methods.{key}: {e}") from None
    for key, space in cfg.selection.items():
        for k, values in space.items():
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{path}: selection.{key}.{k} must be a non-empty list of values to try")
            for v in values:
                try:
                    method_config(key, cfg.esmoe, {key: {**cfg.methods.get(key, {}), k: v}})
                except (ValueError, ConfigError) as e:
                    raise ConfigError(f"{path}: selection.{key}.{k}={v!r}: {e}") from None
    scenarios = set(p.scenarios)
    for sc, emotions in cfg.holdout.items():
        if scenarios and sc not in scenarios:
            raise ConfigError(f"{path}: holdout.{sc}: not a scenario of the protocol ({', '.join(p.scenarios)})")
        unknown = sorted(set(emotions) - set(load_emotion_labels()))
        if unknown:
            raise ConfigError(f"{path}: holdout.{sc}: unknown emotions {unknown} (labels: {', '.join(load_emotion_labels())})")
    if cfg.pretrain_without and cfg.shipped_assets and cfg.backbone in shipped_models(cfg.dataset):
        raise ConfigError(f"{path}: pretrain_without applies to a backbone pre-trained here, not the shipped {cfg.backbone!r}")
    if not p.seeds or p.orders < 1:
        raise ConfigError(f"{path}: protocol needs at least one seed and one order")
    return cfg, hashlib.sha256(path.read_bytes()).hexdigest(), path


CODE_PATHS = ("agent", "envs", "feedback", "policies", "configs", "assets", "pyproject.toml")


def code_version() -> dict:
    """The git commit of the checkout this runs from; ``code``, the hash of the trees that make the numbers
    (CODE_PATHS: a commit that only edits RESULTS.md or docs keeps it, so a results folder can be resumed
    after one); ``dirty``, whether those paths have uncommitted changes."""
    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        trees = git("ls-tree", "HEAD", "--", *CODE_PATHS)
        dirty = bool(git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS))
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown", "code": "unknown", "dirty": None}
    return {"commit": commit, "code": hashlib.sha256(trees.encode()).hexdigest()[:16], "dirty": dirty}


def record_test_read(dataset_dir: str | Path, entry: dict) -> int:
    """Append one scoring of the test split to the counter beside the dataset cache; returns the count."""
    path = Path(dataset_dir) / TEST_READS
    entry = {"time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), **entry}
    with path.open("a") as f:
        f.write(json.dumps(entry) + "\n")
    return len(read_test_reads(dataset_dir))


def read_test_reads(dataset_dir: str | Path) -> list[dict]:
    path = Path(dataset_dir) / TEST_READS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
