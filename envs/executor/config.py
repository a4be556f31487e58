"""Executor configuration (configs/executor.yaml)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from envs.config import config_dir, load_config, validate_literals
from envs.executor.assistance import PlausibilityConfig
from envs.executor.com_plan import ComPlanConfig
from envs.executor.lookahead import LookaheadConfig
from envs.executor.sanity import SanityConfig
from envs.executor.stance import StanceConfig
from envs.executor.start import StartConfig
from envs.executor.stepping import SteppingConfig
from envs.executor.wholebody_gains import WholeBodyGains

Mode = Literal["none", "residual", "full"]
BalanceController = Literal["wholebody", "ankle"]


@dataclass(frozen=True)
class BalanceGains:
    """Ankle-strategy feedback on the centre-of-mass error, used in mode ``none``."""

    kp_pitch: float = 4.0  # rad of ankle pitch per metre of forward COM error
    kd_pitch: float = 0.6  # rad per m/s
    kp_roll: float = -6.0  # rad of ankle roll per metre of sideways COM error
    kd_roll: float = -0.9
    limit: float = 0.5  # rad, largest correction


@dataclass(frozen=True)
class FailureConfig:
    fall_pelvis_ratio: float = 0.5
    fall_head_height: float = 0.45
    max_mean_deviation: float = 0.5
    max_qvel: float = 500.0


@dataclass(frozen=True)
class FeasibilityConfig:
    """When a reference counts as trackable unassisted: its ZMP inside the soles' hull (feasibility.py)."""

    zmp_tolerance: float = 0.02  # m a ZMP may lie outside the hull before the step counts as infeasible
    max_outside_fraction: float = 0.05  # share of supported steps allowed outside; above it: infeasible
    stride: int = 2  # control steps between checks
    smooth_s: float = 0.03  # Gaussian width (s) on the root wrench: mocap accelerations are spiky at its frames


@dataclass(frozen=True)
class ExecutorConfig:
    control_hz: float = 60.0
    mode: Mode = "none"
    failure: FailureConfig = field(default_factory=FailureConfig)
    balance: BalanceGains = field(default_factory=BalanceGains)
    contact_height: float = 0.02
    feasibility: FeasibilityConfig = field(default_factory=FeasibilityConfig)
    balance_controller: BalanceController = "wholebody"  # mode none: whole-body QP, or the older ankle strategy
    wholebody: WholeBodyGains = field(default_factory=WholeBodyGains)
    stance: StanceConfig = field(default_factory=StanceConfig)
    stepping: SteppingConfig = field(default_factory=SteppingConfig)  # mode none: swing feet and contact-aware support (stepping.py)
    com_plan: ComPlanConfig = field(default_factory=ComPlanConfig)
    sanity: SanityConfig = field(default_factory=SanityConfig)  # references checked before simulating (sanity.py)
    plausibility: PlausibilityConfig = field(default_factory=PlausibilityConfig)  # residual mode's judgement (assistance.py)
    start: StartConfig = field(default_factory=StartConfig)  # mode none: the body's first state (start.py)
    lookahead: LookaheadConfig = field(default_factory=LookaheadConfig)  # mode none: stepping variants run ahead

    def __post_init__(self) -> None:
        if self.control_hz <= 0:
            raise ValueError(f"control_hz must be positive, got {self.control_hz}")
        validate_literals(self)

    def for_generated_motion(self) -> "ExecutorConfig":
        """This configuration for motions a generator wrote: the contact schedule reads a foot as down up to
        ``stepping.generated_contact_height`` (decoded feet may hover a little while they stand); itself when that is None."""
        height = self.stepping.generated_contact_height
        if height is None:
            return self
        return replace(self, stepping=replace(self.stepping, contact_height=height))


def load_executor_config(path: str | Path | None = None) -> ExecutorConfig:
    return load_config(path or config_dir() / "executor.yaml", ExecutorConfig)
