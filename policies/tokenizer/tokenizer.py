"""``VQTokenizer``: motion <-> discrete tokens, with its normalisation and a checkpoint format."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.motion import FeatureStats, Motion, decode, encode
from policies.checkpoint import load_model_with_stats, save_model_with_stats
from policies.tokenizer.model import MotionVQVAE, TokenizerConfig

KIND = "vq_tokenizer"


class VQTokenizer:
    def __init__(self, config: TokenizerConfig, stats: FeatureStats, model: MotionVQVAE | None = None) -> None:
        self.config, self.stats = config, stats
        self.model = model or MotionVQVAE(config)
        self.model.eval()

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    def encode_features(self, features: np.ndarray) -> np.ndarray:
        """Raw 263-d features (T, 263) -> token ids (T // 4,); the tail beyond a multiple of 4 is dropped."""
        import torch

        f = np.asarray(features, dtype=np.float32)
        usable = len(f) // self.config.downsample * self.config.downsample
        if usable == 0:
            raise ValueError(f"need at least {self.config.downsample} frames to tokenise, got {len(f)}")
        x = torch.from_numpy(self.stats.normalise(f[:usable]))[None]
        return self.model.encode(x)[0].numpy()

    def encode(self, motion: Motion) -> np.ndarray:
        return self.encode_features(encode(motion))

    def decode_features(self, tokens: np.ndarray | list[int]) -> np.ndarray:
        """Token ids -> raw features (4 N, 263); invalid ids raise ValueError."""
        import torch

        ids = np.asarray(tokens)
        if ids.ndim != 1 or len(ids) == 0:
            raise ValueError(f"tokens must be a non-empty 1-D sequence, got shape {ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= self.codebook_size:
            bad = ids[(ids < 0) | (ids >= self.codebook_size)] if np.issubdtype(ids.dtype, np.integer) else ids[:3]
            raise ValueError(f"token ids must be integers in [0, {self.codebook_size}), got {bad[:5].tolist()}")
        out = self.model.decode(torch.from_numpy(ids.astype(np.int64))[None])[0].numpy()
        return self.stats.denormalise(out)

    def decode(self, tokens: np.ndarray | list[int], fps: float = 20.0) -> Motion:
        return decode(self.decode_features(tokens), fps)

    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        return save_model_with_stats(directory, self.model, self.stats, KIND, self.config, extra)

    @classmethod
    def load(cls, directory: str | Path) -> "VQTokenizer":
        config, stats, model, _ = load_model_with_stats(directory, KIND, TokenizerConfig, lambda c, m: MotionVQVAE(c))
        return cls(config, stats, model)
