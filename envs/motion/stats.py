"""Feature normalisation statistics (mean/std per dimension), saved beside a dataset."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from envs.atomic import atomic_write_bytes, atomic_write_text
from envs.motion.features import FEATURE_DIM, FEATURE_GROUPS

STD_FLOOR = 1e-3


@dataclass
class FeatureStats:
    """Per-dimension mean and std; std is averaged within each HumanML3D feature group, as T2M does."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> "FeatureStats":
        f = np.asarray(features, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != FEATURE_DIM or len(f) < 2:
            raise ValueError(f"need (N>=2, {FEATURE_DIM}) features to fit statistics, got {f.shape}")
        mean = f.mean(axis=0)
        raw = f.std(axis=0)
        std = np.empty_like(raw)
        for sl in FEATURE_GROUPS.values():
            std[sl] = max(raw[sl].mean(), STD_FLOOR)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def normalise(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.std).astype(np.float32)

    def denormalise(self, features: np.ndarray) -> np.ndarray:
        return (features * self.std + self.mean).astype(np.float32)

    def save(self, directory: str | Path) -> None:
        from safetensors.numpy import save

        directory = Path(directory)
        atomic_write_bytes(directory / "stats.safetensors", save({"mean": self.mean, "std": self.std}))
        atomic_write_text(directory / "stats.json", json.dumps(
            {"feature_dim": FEATURE_DIM, "std_grouping": sorted(FEATURE_GROUPS), "std_floor": STD_FLOOR}, indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> "FeatureStats":
        from safetensors.numpy import load_file

        path = Path(directory) / "stats.safetensors"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no normalisation statistics (run `l2emg data prepare`)")
        arrays = load_file(str(path))
        return cls(arrays["mean"], arrays["std"])
