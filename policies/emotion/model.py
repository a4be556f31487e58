"""Motion-emotion classifier: which of the emotion labels a motion expresses."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from envs.motion import FeatureStats
from policies.checkpoint import load_model_with_stats, save_model_with_stats
from policies.motion_encoder import ConvMotionEncoder, pad_batch
from policies.training import TrainConfig

KIND = "motion_emotion_classifier"


@dataclass(frozen=True)
class EmotionTrainConfig(TrainConfig):
    lr: float = 5e-4
    weight_decay: float = 1e-4
    class_weight_power: float = 0.5


@dataclass(frozen=True)
class EmotionClassifierConfig:
    width: int = 192
    layers: int = 3
    dropout: float = 0.2
    max_frames: int = 96
    train: EmotionTrainConfig = field(default_factory=EmotionTrainConfig)


class EmotionNet(nn.Module):
    def __init__(self, cfg: EmotionClassifierConfig, num_labels: int) -> None:
        super().__init__()
        self.encoder = ConvMotionEncoder(cfg.width, cfg.width, cfg.layers, cfg.dropout)
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Dropout(cfg.dropout), nn.Linear(cfg.width, num_labels))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x, mask))


class MotionEmotionClassifier:
    """Probabilities over ``labels`` for raw 263-d feature sequences (its own normalisation inside)."""

    def __init__(self, config: EmotionClassifierConfig, labels: list[str], stats: FeatureStats,
                 model: EmotionNet | None = None) -> None:
        self.config, self.labels, self.stats = config, list(labels), stats
        self.model = (model or EmotionNet(config, len(labels))).eval()

    @property
    def min_frames(self) -> int:
        return 2 ** (self.config.layers - 1)

    def logits(self, features: list[np.ndarray], batch: int = 256) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(features), batch):
                chunk = features[i:i + batch]
                short = [len(f) for f in chunk if len(f) < self.min_frames]
                if short:
                    raise ValueError(f"motion too short for the emotion classifier: {min(short)} frames, needs {self.min_frames}")
                x, mask = pad_batch([self.stats.normalise(f) for f in chunk], self.config.max_frames)
                out.append(self.model(x, mask).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def predict_proba(self, features: list[np.ndarray], temperature: float = 1.0) -> np.ndarray:
        z = self.logits(features) / temperature
        z = z - z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, features: list[np.ndarray]) -> list[str]:
        return [self.labels[i] for i in self.logits(features).argmax(axis=1)]

    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        return save_model_with_stats(directory, self.model, self.stats, KIND, self.config, {"labels": self.labels, **(extra or {})})

    @classmethod
    def load(cls, directory: str | Path) -> "MotionEmotionClassifier":
        config, stats, model, meta = load_model_with_stats(
            directory, KIND, EmotionClassifierConfig, lambda c, m: EmotionNet(c, len(m["labels"])))
        return cls(config, meta["labels"], stats, model)
