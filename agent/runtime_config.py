"""``configs/runtime.yaml`` validated into dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from envs.config import config_dir, load_config
from feedback.judges import JudgeThresholds


@dataclass(frozen=True)
class BootstrapConfig:
    tokenizer_iterations: int = 300
    evaluator_iterations: int = 250
    emotion_iterations: int = 200
    tokenizer_lr: float = 1.0e-3
    tokenizer_warmup: int = 50
    pretrain_steps: int = 200
    expert_steps: int = 80
    batch: int = 16
    routing: str = "prototype"
    prototypes: int = 0  # gate.prototypes of the bootstrapped ES-MoE (0: every training description)
    pretrain_on: str = "all_but_later"  # the backbone's scenarios: all_but_later (every one no later phase introduces) | first_phase
    shipped_assets: bool = True  # install the models shipped in assets/<dataset>/ when none is trained yet


@dataclass(frozen=True)
class LearnerConfig:
    steps: int = 80
    batch: int = 16
    threads: int = 1
    self_generated_max: int = 64
    validation_texts: int = 16
    max_old_drop: float = 0.15


@dataclass(frozen=True)
class ExecutorSettings:
    mode: str = "residual"


@dataclass(frozen=True)
class RaySettings:
    num_cpus: int = 2
    generator_cpus: float = 0.5
    learner_cpus: float = 0.5
    executor_cpus: float = 0.25
    other_cpus: float = 0.25
    max_restarts: int = 3


@dataclass(frozen=True)
class RuntimeConfig:
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    judges: JudgeThresholds = field(default_factory=JudgeThresholds)  # validated straight into the judges' own thresholds
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    ray: RaySettings = field(default_factory=RaySettings)


def load_runtime_config(path: str | Path | None = None) -> RuntimeConfig:
    cfg = load_config(Path(path or config_dir() / "runtime.yaml"), RuntimeConfig)
    if cfg.bootstrap.routing not in ("prototype", "learned"):
        raise ValueError(f"runtime.yaml: bootstrap.routing must be prototype or learned, got {cfg.bootstrap.routing!r}")
    if cfg.bootstrap.pretrain_on not in ("all_but_later", "first_phase"):
        raise ValueError(f"runtime.yaml: bootstrap.pretrain_on must be all_but_later or first_phase, got {cfg.bootstrap.pretrain_on!r}")
    if cfg.executor.mode not in ("none", "residual", "full"):
        raise ValueError(f"runtime.yaml: executor.mode must be none, residual or full, got {cfg.executor.mode!r}")
    return cfg
