"""Partner stimuli for scripted episodes: an utterance with an emotion and a partner motion of the
scenario with the same emotion, drawn reproducibly from the episode's source."""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from agent.runtime.messages import Stimulus
from envs.config import config_dir


class StimulusSource:
    """Partner motions come from the dataset's test split (never trained on); utterances from the
    phase's list or, by the partner's emotion label, from the perception calibration set."""

    def __init__(self, dataset_dir: str, seed: int = 0, split: str = "test") -> None:
        from policies.data import L2EMGDataset
        from policies.perception.text_emotion import load_perception_config, read_labelled_utterances

        self.ds = L2EMGDataset(dataset_dir)
        self.by_scenario: dict[str, list] = defaultdict(list)
        for s in self.ds.split(split):
            self.by_scenario[s.scenario].append(s)
        labels, texts = read_labelled_utterances(config_dir() / load_perception_config().calibration)
        self.utterances: dict[str, list[str]] = defaultdict(list)
        for l, t in zip(labels, texts):
            self.utterances[l].append(t)
        self.rng = np.random.default_rng(seed)

    def random_state(self) -> dict:
        """The draws' random state (JSON-able): ``restore_random_state`` continues the same partners (``run --resume``)."""
        return self.rng.bit_generator.state

    def restore_random_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def draw(self, scenario: str, utterances: list[str] | None = None) -> Stimulus:
        pool = self.by_scenario.get(scenario)
        if not pool:
            raise ValueError(f"no {scenario!r} partner motions in {self.ds.manifest['name']}")
        s = pool[int(self.rng.integers(len(pool)))]
        choices = utterances or self.utterances.get(s.emotion) or self.utterances["neutral"]
        return Stimulus(scenario, choices[int(self.rng.integers(len(choices)))], s.emotion,
                        self.ds.positions(s).astype(np.float32), float(self.ds.manifest["fps"]), s.sample_id)
