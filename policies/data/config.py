"""Dataset configuration (configs/datasets/*.yaml) and the emotion label set."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from envs.config import ConfigError, config_dir, load_config, probe_path, read_yaml


@dataclass(frozen=True)
class WindowConfig:
    length_s: float = 4.0
    stride_s: float = 2.0
    min_length_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.min_length_s <= self.length_s or self.stride_s <= 0:
            raise ValueError("window needs 0 < min_length_s <= length_s and stride_s > 0")


@dataclass(frozen=True)
class SplitConfig:
    train: float = 0.8
    val: float = 0.05
    test: float = 0.15

    def __post_init__(self) -> None:
        if min(self.train, self.val, self.test) < 0 or abs(self.train + self.val + self.test - 1) > 1e-6:
            raise ValueError(f"splits must be non-negative and sum to 1, got {self.train}/{self.val}/{self.test}")


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    source: Literal["bandai", "synthetic"]
    window: WindowConfig = field(default_factory=WindowConfig)
    splits: SplitConfig = field(default_factory=SplitConfig)
    texts_per_sample: int = 3
    seed: int = 0
    datasets: list[str] = field(default_factory=list)
    scenarios: dict[str, list[str]] = field(default_factory=dict)
    style_emotion: dict[str, str] = field(default_factory=dict)
    persona_styles: list[str] = field(default_factory=list)
    variations: int | None = None  # synthetic only: clips per (family, emotion); None = configs/synth.yaml

    def scenario_of(self, content: str) -> str | None:
        for scenario, contents in self.scenarios.items():
            if content in contents:
                return scenario
        return None


def load_emotion_labels(path: str | Path | None = None) -> list[str]:
    path = Path(path or config_dir() / "emotions.yaml")
    data = read_yaml(path)
    labels = data.get("labels") if isinstance(data, dict) else None
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise ConfigError(f"{path}: 'labels' must be a non-empty list of strings")
    return labels


def load_dataset_config(name_or_path: str | Path) -> DatasetConfig:
    """A dataset config by name (``bandai-4``, ``synth-8``) or by path to a YAML file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = config_dir() / "datasets" / f"{name_or_path}.yaml"
        if not probe_path(path, "dataset", str(name_or_path)[:80], "is_file"):
            known = sorted(p.stem for p in (config_dir() / "datasets").glob("*.yaml"))
            raise ConfigError(f"unknown dataset {str(name_or_path)!r} (known: {', '.join(known)})")
    config = load_config(path, DatasetConfig)
    labels = set(load_emotion_labels())
    for style, emotion in config.style_emotion.items():
        if emotion not in labels:
            raise ConfigError(f"{path}: style_emotion.{style}: {emotion!r} is not an emotion label {sorted(labels)}")
    return config
