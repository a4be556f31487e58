"""Feature normalisation statistics (mean/std per dimension), saved beside a dataset, and HumanML3D's
``Mean.npy``/``Std.npy`` read and written."""
from __future__ import annotations

import io
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

    @classmethod
    def fit_humanml3d(cls, features: list[np.ndarray] | np.ndarray) -> "FeatureStats":
        """HumanML3D's ``mean_variance`` (cal_mean_variance.ipynb): mean over all frames of all clips, std
        averaged within each feature group, no floor; clips containing NaN are skipped as it does."""
        clips = [np.asarray(f) for f in (features if isinstance(features, list) else [features])]
        clips = [f for f in clips if not np.isnan(f).any()]
        if not clips or any(f.ndim != 2 or f.shape[1] != FEATURE_DIM for f in clips):
            raise ValueError(f"need clips of shape (N, {FEATURE_DIM}) to fit HumanML3D statistics")
        data = np.concatenate(clips, axis=0)
        mean, std = data.mean(axis=0), data.std(axis=0)
        for sl in FEATURE_GROUPS.values():
            std[sl] = std[sl].mean()
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def save_humanml3d(self, directory: str | Path) -> None:
        """``Mean.npy`` and ``Std.npy`` (float32, 263) as HumanML3D ships them."""
        for name, arr in (("Mean.npy", self.mean), ("Std.npy", self.std)):
            buf = io.BytesIO()
            np.save(buf, np.asarray(arr, dtype=np.float32))
            atomic_write_bytes(Path(directory) / name, buf.getvalue())

    @classmethod
    def load_humanml3d(cls, directory: str | Path) -> "FeatureStats":
        """Read ``Mean.npy``/``Std.npy``; errors name the file and the problem."""
        arrays = []
        for name in ("Mean.npy", "Std.npy"):
            path = Path(directory) / name
            if not path.is_file():
                raise FileNotFoundError(f"{path}: missing (a HumanML3D folder has Mean.npy and Std.npy)")
            arr = np.load(path, allow_pickle=False)
            if arr.shape != (FEATURE_DIM,):
                raise ValueError(f"{path}: expected shape ({FEATURE_DIM},), got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{path}: contains NaN or inf")
            arrays.append(arr.astype(np.float32))
        if np.any(arrays[1] <= 0):
            raise ValueError(f"{Path(directory) / 'Std.npy'}: std must be positive, dimension {int(np.argmin(arrays[1]))} is {arrays[1].min()}")
        return cls(arrays[0], arrays[1])

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
