"""``MotionTextEvaluator``: embeds motions and texts for FID, R-Precision, MM-Dist and Diversity."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.motion import FeatureStats
from policies.checkpoint import load_model_with_stats, save_model_with_stats
from policies.evaluator.model import EvaluatorConfig, RetrievalModel
from policies.motion_encoder import pad_batch
from policies.text_encoder import EmbeddingFile, TextEncoder, sentence_encoder

KIND = "text_motion_evaluator"


class MotionTextEvaluator:
    def __init__(self, config: EvaluatorConfig, stats: FeatureStats, model: RetrievalModel | None = None,
                 text_encoder: TextEncoder | EmbeddingFile | None = None) -> None:
        self.config, self.stats = config, stats
        self.model = (model or RetrievalModel(config)).eval()
        self._text_encoder = text_encoder

    @property
    def text_encoder(self) -> TextEncoder | EmbeddingFile:
        if self._text_encoder is None:
            self._text_encoder = sentence_encoder()
        return self._text_encoder

    def embed_motions(self, features: list[np.ndarray], batch: int = 256) -> np.ndarray:
        """Raw (T, 263) feature arrays -> (N, embed_dim) unit vectors."""
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(features), batch):
                x, mask = pad_batch([self.stats.normalise(f) for f in features[i:i + batch]], self.config.max_frames)
                out.append(self.model.embed_motion(x, mask).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.config.embed_dim), np.float32)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        minilm = torch.from_numpy(self.text_encoder.encode(texts))
        with torch.no_grad():
            return self.model.embed_text(minilm).numpy()

    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        return save_model_with_stats(directory, self.model, self.stats, KIND, self.config, extra)

    @classmethod
    def load(cls, directory: str | Path, text_encoder: TextEncoder | EmbeddingFile | None = None) -> "MotionTextEvaluator":
        config, stats, model, _ = load_model_with_stats(directory, KIND, EvaluatorConfig, lambda c, m: RetrievalModel(c))
        return cls(config, stats, model, text_encoder)
