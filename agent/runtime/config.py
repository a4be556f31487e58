"""``configs/runtime.yaml`` validated into dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.recipes.bootstrap import BootstrapConfig
from envs.config import config_dir, load_config, validate_literals
from envs.executor.config import Mode
from feedback.judges import JudgeThresholds


@dataclass(frozen=True)
class LearnerConfig:
    steps: int = 80
    batch: int = 16
    threads: int = 1
    nice: int = 0  # the training thread's scheduling niceness, 0-19 (Linux: per thread); 0 leaves it as is
    idle_priority: bool = False  # the training thread under SCHED_IDLE (Linux): any loop thread preempts it at once
    duty: float = 1.0  # the share of wall time the training steps may compute: after each, a pause (1: none)
    self_generated_max: int = 64
    validation_texts: int = 16
    max_old_drop: float = 0.15

    def __post_init__(self) -> None:
        if not 0 <= self.nice <= 19:
            raise ValueError(f"learner.nice: {self.nice} is not a niceness (0-19)")
        if not 0 < self.duty <= 1:
            raise ValueError(f"learner.duty: {self.duty} is not a share of wall time in (0, 1]")


@dataclass(frozen=True)
class ExecutorSettings:
    mode: Mode = "none"
    # The whole-body controller's look-ahead among stepping variants (configs/executor.yaml, lookahead; sim track and
    # L2EMG/Interaction-v0 use it): off in the loop, where it took make demo to 10 min 29 s (8 min 3 s off; RESULTS.md)
    lookahead: bool = False

    def __post_init__(self) -> None:
        validate_literals(self, "executor")


@dataclass(frozen=True)
class RaySettings:
    num_cpus: int = 2
    generator_cpus: float = 0.5
    learner_cpus: float = 0.5
    executor_cpus_max: float = 1.0  # executors share what the services leave, up to this each
    other_cpus: float = 0.25
    max_restarts: int = 3
    placement_timeout_s: float = 45.0  # the actors are placed within this, or the run stops naming what does not fit


@dataclass(frozen=True)
class PipelineSettings:
    enabled: bool = True  # stages overlap (agent/runtime/pipeline.py); false: one batch at a time
    depth: int = 1  # batches a stage may run ahead of the next


@dataclass(frozen=True)
class StorageSettings:
    min_free_mb: float = 200.0  # free space the runs folder's disk needs before a run starts


@dataclass(frozen=True)
class RuntimeConfig:
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    judges: JudgeThresholds = field(default_factory=JudgeThresholds)  # validated straight into the judges' own thresholds
    learner: LearnerConfig = field(default_factory=LearnerConfig)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    ray: RaySettings = field(default_factory=RaySettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)


def load_runtime_config(path: str | Path | None = None) -> RuntimeConfig:
    """Allowed values (routing, pretrain_on, executor.mode) are checked by their ``Literal`` types."""
    return load_config(Path(path or config_dir() / "runtime.yaml"), RuntimeConfig)
