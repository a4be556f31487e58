"""PerceptionEstimator: utterance + partner motion -> calibrated emotion distribution, scenario guess."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from envs.atomic import atomic_write_text
from policies.emotion import MotionEmotionClassifier
from policies.perception.fusion import EmotionFusion
from policies.perception.motion_emotion import MotionEmotionEstimator
from policies.perception.scenario import ScenarioGuesser
from policies.perception.text_emotion import PerceptionConfig, TextEmotionEstimator, has_words, load_perception_config
from policies.text_encoder import TextEncoder


@dataclass
class PerceptionResult:
    emotion: str
    confidence: float
    distribution: dict[str, float]
    uncertain: bool
    reasons: list[str] = field(default_factory=list)
    text_distribution: dict[str, float] | None = None
    motion_distribution: dict[str, float] | None = None
    scenario: dict[str, float] | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class PerceptionEstimator:
    """Never raises on bad stimuli: unusable modalities are dropped with a reason; with none left the
    result is uniform and ``uncertain``."""

    def __init__(self, classifier: MotionEmotionClassifier, config: PerceptionConfig | None = None,
                 text_encoder: TextEncoder | None = None) -> None:
        self.config = config or load_perception_config()
        self.encoder = text_encoder or TextEncoder(quantize=self.config.quantize_text_encoder)
        self.labels = classifier.labels
        self.text = TextEmotionEstimator(self.labels, self.config, self.encoder)
        self.motion = MotionEmotionEstimator(classifier, self.config.min_motion_frames)
        self.fusion = EmotionFusion()
        self.scenarios = ScenarioGuesser(self.config.scenarios, self.encoder) if self.config.scenarios else None

    def perceive(self, text: str | None = None, positions: np.ndarray | None = None, fps: float = 20.0,
                 scenario_candidates: list[str] | None = None) -> PerceptionResult:
        reasons: list[str] = []
        p_text = p_motion = None
        if text is not None and not isinstance(text, str):
            reasons.append(f"text ignored: expected a string, got {type(text).__name__}")
            text = None
        if text is not None:
            if not text.strip():
                reasons.append("text ignored: empty")
            elif not has_words(text) and self.text.nade is None:
                reasons.append("text ignored: no words (only symbols or emoji) and nade is not installed")
            else:
                if len(text) > self.config.max_chars:
                    reasons.append(f"text cut to its first {self.config.max_chars} characters")
                p_text = self.text.predict_proba([text])
        if positions is not None:
            problem = self.motion.check(positions)
            if problem:
                reasons.append(f"motion ignored: {problem}")
            else:
                p_motion = self.motion.predict_proba([positions], fps)

        if p_text is None and p_motion is None:
            uniform = {l: round(1 / len(self.labels), 4) for l in self.labels}
            return PerceptionResult("neutral" if "neutral" in self.labels else self.labels[0], 0.0, uniform, True,
                                    reasons + ["no usable modality: uncertain"])
        fused = self.fusion.fuse(p_text, p_motion)[0]
        best = int(fused.argmax())
        confidence = float(fused[best])
        uncertain = confidence < self.config.uncertain_confidence
        if uncertain:
            reasons.append(f"low confidence ({confidence:.2f} < {self.config.uncertain_confidence})")
        as_dict = lambda p: None if p is None else dict(zip(self.labels, np.round(p[0], 4).tolist()))  # noqa: E731
        scenario = None
        if self.scenarios is not None and p_text is not None:
            scenario = self.scenarios.guess(text, scenario_candidates)
        return PerceptionResult(self.labels[best], round(confidence, 4), dict(zip(self.labels, np.round(fused, 4).tolist())),
                                uncertain, reasons, as_dict(p_text), as_dict(p_motion), scenario)

    def save(self, directory: str | Path, classifier_dir: str | Path, extra: dict | None = None) -> Path:
        """The fitted text head and fusion temperatures as JSON beside a pointer to the classifier (a path
        relative to ``directory``, so the two folders can move together)."""
        import os

        directory = Path(directory)
        t = self.text
        classifier = os.path.relpath(Path(classifier_dir).absolute(), directory.absolute())
        state = {"kind": "perception", "labels": self.labels, "classifier": classifier,
                 "text_head": {"weights": t.weights.tolist(), "bias": t.bias.tolist(), "mu": t.mu.tolist(),
                               "sd": t.sd.tolist(), "features": t.feature_names},
                 "fusion": asdict(self.fusion), "config": asdict(self.config), **(extra or {})}
        atomic_write_text(directory / "perception.json", json.dumps(state, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path, text_encoder: TextEncoder | None = None) -> "PerceptionEstimator":
        from envs.config import from_dict
        from policies.checkpoint import CheckpointError

        path = Path(directory) / "perception.json"
        try:
            state = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"{path}: unreadable perception checkpoint ({exc})") from None
        classifier = Path(directory) / state["classifier"]  # relative to this folder (older checkpoints: absolute)
        est = cls(MotionEmotionClassifier.load(classifier), from_dict(PerceptionConfig, state["config"], str(path)), text_encoder)
        head = state["text_head"]
        if head["features"] != est.text.feature_names:
            raise CheckpointError(f"{path}: text head was fitted on features {head['features']}, this install gives {est.text.feature_names}")
        est.text.weights, est.text.bias = np.array(head["weights"]), np.array(head["bias"])
        est.text.mu, est.text.sd = np.array(head["mu"]), np.array(head["sd"])
        est.fusion = EmotionFusion(**state["fusion"])
        return est
