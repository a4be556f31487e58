"""The empathy response policy: perceived emotion + scenario -> response emotion and instruction text.

Instructions are phrased like the training texts (the same templates and content phrases), since
the generator is conditioned on such text; the table itself is configs/empathy.yaml.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs.config import ConfigError, config_dir, load_config
from policies.data import load_dataset_config, load_emotion_labels
from policies.data.texts import TextComposer


@dataclass(frozen=True)
class ResponseRule:
    emotion: str
    extra: list[str]


@dataclass(frozen=True)
class EmpathyConfig:
    responses: dict[str, ResponseRule]
    uncertain: ResponseRule
    min_confidence: float = 0.35


@dataclass
class EmpathicResponse:
    emotion: str  # the emotion the agent's motion should express
    instruction: str  # text for the generator
    content: str  # which motion content was chosen
    scenario: str
    reason: str
    manner: str = ""  # how the answer is meant (the rule's "extra"); kept out of the generator instruction


def load_empathy_config(path: str | Path | None = None) -> EmpathyConfig:
    path = Path(path or config_dir() / "empathy.yaml")
    cfg = load_config(path, EmpathyConfig)
    labels = set(load_emotion_labels())
    for perceived, rule in list(cfg.responses.items()) + [("uncertain", cfg.uncertain)]:
        if perceived != "uncertain" and perceived not in labels:
            raise ConfigError(f"{path}: responses.{perceived}: not an emotion label {sorted(labels)}")
        if rule.emotion not in labels:
            raise ConfigError(f"{path}: responses.{perceived}.emotion: {rule.emotion!r} is not an emotion label")
    return cfg


class EmpathyPolicy:
    def __init__(self, dataset: str = "synth-8", config: EmpathyConfig | None = None, seed: int = 0) -> None:
        self.config = config or load_empathy_config()
        self.composer = TextComposer()
        self.contents = scenario_contents(dataset)
        self.rng = np.random.default_rng(seed)

    def random_state(self) -> dict:
        """The generator's state (JSON-able): ``restore_random_state`` continues the same stream (``run --resume``)."""
        return self.rng.bit_generator.state

    def restore_random_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def respond(self, perceived: str, confidence: float, scenario: str) -> EmpathicResponse:
        if scenario not in self.contents:
            raise ValueError(f"unknown scenario {scenario!r} (known: {sorted(self.contents)})")
        if confidence < self.config.min_confidence or perceived not in self.config.responses:
            rule, reason = self.config.uncertain, f"uncertain perception ({perceived}, {confidence:.2f})"
        else:
            rule, reason = self.config.responses[perceived], f"partner seems {perceived}"
        content = self.contents[scenario][int(self.rng.integers(len(self.contents[scenario])))]
        text = self.composer.compose(content, rule.emotion, self.rng, scenario, count=1)[0]
        # the generator only knows training-text phrasing: an appended adverbial ("..., calmly and slowly.")
        # sent 10-18 % of the demo's known-scenario requests to the wrong expert and contradicted the style
        manner = rule.extra[int(self.rng.integers(len(rule.extra)))] if rule.extra else ""
        return EmpathicResponse(rule.emotion, text, content, scenario, reason, manner)


def scenario_contents(dataset: str) -> dict[str, list[str]]:
    """Scenario -> motion contents (Bandai contents or synth families) of a dataset."""
    cfg = load_dataset_config(dataset)
    if cfg.source == "synthetic":
        from envs.synth import load_synth_config

        return {k: list(v) for k, v in load_synth_config().scenarios.items()}
    return {k: list(v) for k, v in cfg.scenarios.items()}
