"""What a run asks the bootstrap for and what it gets back (agent/recipes/bootstrap.py trains it): kept apart so
that the warm-up, which the bootstrap calls, can read the request without importing the bootstrap."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from envs.config import validate_literals


@dataclass(frozen=True)
class BootstrapConfig:
    """``bootstrap:`` of configs/runtime.yaml: what is trained when a model is missing."""

    tokenizer_iterations: int = 300
    evaluator_iterations: int = 250
    emotion_iterations: int = 200
    tokenizer_lr: float = 1.0e-3
    tokenizer_warmup: int = 50
    # the tokenizer's foot-contact term (policies/tokenizer/foot_contact.py): its weight and, inside it, the decoded
    # pose's (configs/tokenizer.yaml leaves both off: the bandai-4 tokenizer is trained without)
    tokenizer_foot_contact_weight: float = 0.0
    tokenizer_fk_pose_weight: float = 0.0
    tokenizer_seed: int = 0  # the tokenizer's training seed (configs/tokenizer.yaml's train.seed for the bootstrap's run)
    pretrain_steps: int = 200
    expert_steps: int = 80
    batch: int = 16
    routing: Literal["prototype", "learned"] = "prototype"
    prototypes: int = 0  # gate.prototypes of the bootstrapped ES-MoE (0: every training description)
    # the backbone's scenarios: every one no later phase introduces, or the first phase's only
    pretrain_on: Literal["all_but_later", "first_phase"] = "all_but_later"
    shipped_assets: bool = True  # install the models shipped in assets/<dataset>/ when none is trained yet

    def __post_init__(self) -> None:
        validate_literals(self, "bootstrap")

    @property
    def tokenizer_overrides(self) -> dict[str, float | int]:
        """What the bootstrap's tokenizer changes in configs/tokenizer.yaml beyond its iterations and rate, by dotted key."""
        return {"foot_contact_weight": self.tokenizer_foot_contact_weight, "fk_pose_weight": self.tokenizer_fk_pose_weight,
                "train.seed": self.tokenizer_seed}


@dataclass(frozen=True)
class BootstrapRequest:
    """What a run needs models for: its dataset, the scenarios known from the start (they get experts) and
    those introduced later (no model is ever trained on them)."""

    dataset: str
    known: tuple[str, ...]
    later: tuple[str, ...] = ()
    root: str | None = None  # raw data root of Bandai sources (default $L2EMG_BANDAI_ROOT)
    # tiny (pre-trained here) | smollm2-135m | a local Hugging Face folder (both warmed up here on the pre-known
    # scenarios, `l2emg warmup --episode`) | a warm-up output (used as it is)
    backbone: str = "tiny"
    generator: str | None = None  # an existing ES-MoE checkpoint to serve instead of bootstrapping one

    def __post_init__(self) -> None:
        validate_literals(self, "bootstrap request")


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
