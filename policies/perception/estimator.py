"""PerceptionEstimator: utterance + partner motion -> calibrated emotion distribution, scenario guess."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from envs.atomic import atomic_write_text
from envs.errors import L2EMGError
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
            problem = self.motion.check(positions, fps)
            if problem:
                reasons.append(f"motion ignored: {problem}")
            else:
                try:
                    p_motion = self.motion.predict_proba([positions], fps)
                except L2EMGError as exc:  # e.g. coordinates too large to give finite features
                    reasons.append(f"motion ignored: {exc}")

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
        from policies.checkpoint import CheckpointError, checkpoint_errors, read_json

        path = Path(directory) / "perception.json"
        state = read_json(path)
        with checkpoint_errors(path, "the perception checkpoint"):
            classifier = Path(directory) / state["classifier"]  # relative to this folder (older checkpoints: absolute)
            config = from_dict(PerceptionConfig, state["config"], str(path))
        est = cls(MotionEmotionClassifier.load(classifier), config, text_encoder)
        with checkpoint_errors(path, "the perception checkpoint"):
            head = state["text_head"]
            if head["features"] != est.text.feature_names:
                raise CheckpointError(f"{path}: text head was fitted on features {str(head['features'])[:80]}, this install "
                                      f"gives {est.text.feature_names}")
            arrays = {key: np.asarray(head[key], dtype=np.float64) for key in ("weights", "bias", "mu", "sd")}
            n, k = arrays["mu"].shape[0] if arrays["mu"].ndim == 1 else -1, len(est.labels)
            for key, shape in (("weights", (n, k)), ("bias", (k,)), ("mu", (n,)), ("sd", (n,))):
                if arrays[key].shape != shape or not np.isfinite(arrays[key]).all():
                    raise CheckpointError(f"{path}: text_head.{key} must be finite numbers of shape {shape}, got {arrays[key].shape}")
            est.text.weights, est.text.bias, est.text.mu, est.text.sd = (arrays[k_] for k_ in ("weights", "bias", "mu", "sd"))
            est.fusion = EmotionFusion(**state["fusion"])
            if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and np.isfinite(t) and t > 0
                       for t in (est.fusion.t_text, est.fusion.t_motion, est.fusion.t_joint)):
                raise CheckpointError(f"{path}: fusion temperatures must be positive numbers, got {str(state['fusion'])[:80]}")
        return est
