"""What the loop and its backends hand each other (DESIGN §3: typed dataclasses, never loose dicts), and
the store calls the loop may make. The same objects travel in-process (``LocalBackend``) and between Ray
actors (``RayBackend``)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np

from envs.executor.result import ExecutionResult
from envs.motion.motion import Motion
from feedback.store import Interaction, Verdict


@dataclass(frozen=True)
class Stimulus:
    """A partner's turn: what they say and how they move."""

    scenario: str
    utterance: str
    partner_emotion: str | None
    positions: np.ndarray | None = None  # partner joints (T, 22, 3), Y up, metres
    fps: float = 20.0
    partner_clip: str | None = None
    candidates: tuple[str, ...] | None = None  # scenarios the perception may guess among (None: its own list)


@dataclass(frozen=True)
class Perceived:
    """The perception's reading of one stimulus."""

    emotion: str
    confidence: float
    uncertain: bool = False
    scenario_guess: str | None = None


@dataclass(frozen=True)
class Request:
    """What the generator is asked for and why: a fresh interaction, or a stored one served again."""

    scenario: str
    utterance: str
    partner_emotion: str | None
    perceived: str  # the emotion perception read
    instruction: str  # the text the generator is conditioned on
    intended_emotion: str  # the emotion the answer should express
    manner: str = ""  # how the answer is meant (kept out of the instruction)
    replay_of: int | None = None  # the step this request was first served at
    random_state: dict | None = None  # the episode's random generators right after this request was drawn (for --resume)


@dataclass
class Generated:
    """The generator's answer to one instruction: tokens, the decoded motion (None when it failed) and the
    gate weight of each expert."""

    codes: list[int] | None
    motion: Motion | None
    experts: dict[str, float]
    failure: str | None = None


@dataclass
class Executed:
    """One motion run on the humanoid: the result and the executed trajectory's 263-d features (None when
    there is no usable trajectory)."""

    result: ExecutionResult
    features: np.ndarray | None = None
    error: str | None = None


@dataclass
class Experience:
    """One served interaction with its execution, for the judges and the store."""

    interaction: Interaction
    executed: Executed


@dataclass(frozen=True)
class Judged:
    """The verdict on one interaction, already committed to the store under ``id``."""

    id: int
    verdict: Verdict


@dataclass(frozen=True)
class LoadedGenerator:
    checkpoint: str
    experts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LearningOutcome:
    """A finished background training job: ``report`` when it ran to the end, else ``error``."""

    status: Literal["done", "error"]
    report: dict | None = None  # ExpertLearner.train_expert's report
    error: str | None = None


class StoreClient(Protocol):
    """The experience-store calls the loop makes (``feedback.store.ExperienceStore`` has them all; on Ray
    they are forwarded to the feedback actor that owns the store)."""

    def failures_since(self, scenario: str, after_id: int = 0) -> int: ...
    def last_id(self) -> int: ...
    def counts(self) -> dict[str, int]: ...
    def successful_codes(self, scenario: str, limit: int = 256) -> list[tuple[str, list[int], str | None]]: ...
    def add_expert(self, name: str, path: str, status: str = "training", metrics: dict | None = None,
                   event: tuple[str, dict] | None = None) -> int: ...
    def set_expert_status(self, name: str, version: int, status: str, metrics: dict | None = None,
                          event: tuple[str, dict] | None = None) -> None: ...
    def published(self) -> dict[str, dict]: ...
    def expert_timeline(self) -> list[dict]: ...
    def add_event(self, episode: str, event: dict) -> None: ...
    def events(self, episode: str) -> list[dict]: ...
    def interactions(self, episode: str) -> list[dict]: ...


STORE_CALLS = tuple(name for name, v in vars(StoreClient).items() if callable(v) and not name.startswith("_"))
