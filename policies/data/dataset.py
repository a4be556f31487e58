"""Reading a prepared L2-EMG dataset from its cache folder."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np

from envs.motion import FeatureStats, Motion, decode
from policies.data.builder import ClipRecord, SampleRecord


class L2EMGDataset:
    """Samples (windows of clips) with texts, emotion and scenario; arrays are loaded once."""

    def __init__(self, directory: str | Path) -> None:
        from safetensors.numpy import load_file

        self.directory = Path(directory)
        manifest = self.directory / "manifest.json"
        if not manifest.is_file():
            raise FileNotFoundError(f"{self.directory}: not a prepared dataset (no manifest.json); run `l2emg data prepare`")
        self.manifest = json.loads(manifest.read_text())
        arrays = load_file(str(self.directory / "arrays.safetensors"))
        self.features_all: np.ndarray = arrays["features"]
        self.positions_all: np.ndarray = arrays["positions"]
        self.clips = {c.clip_id: c for c in (ClipRecord(**json.loads(l)) for l in _lines(self.directory / "clips.jsonl"))}
        self.samples = [SampleRecord(**json.loads(l)) for l in _lines(self.directory / "samples.jsonl")]
        self.stats = FeatureStats.load(self.directory)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    def __len__(self) -> int:
        return len(self.samples)

    def split(self, name: str) -> list[SampleRecord]:
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be train, val or test, got {name!r}")
        return [s for s in self.samples if s.split == name]

    def _rows(self, sample: SampleRecord) -> slice:
        start = self.clips[sample.clip_id].offset + sample.start
        return slice(start, start + sample.length)

    def features(self, sample: SampleRecord, normalised: bool = False) -> np.ndarray:
        f = self.features_all[self._rows(sample)]
        return self.stats.normalise(f) if normalised else f

    def positions(self, sample: SampleRecord) -> np.ndarray:
        """Canonical global joint positions of the window (in its clip's frame)."""
        return self.positions_all[self._rows(sample)]

    def motion(self, sample: SampleRecord) -> Motion:
        """The window as a Motion decoded from its features (starting at the origin)."""
        return decode(self.features(sample))

    def counts(self, split: str | None = None) -> dict[str, dict[str, int]]:
        samples = self.samples if split is None else self.split(split)
        return {
            "scenario": dict(sorted(Counter(s.scenario for s in samples).items())),
            "emotion": dict(sorted(Counter(s.emotion or "none (persona)" for s in samples).items())),
            "split": dict(sorted(Counter(s.split for s in samples).items())),
        }


def _lines(path: Path) -> list[str]:
    return [l for l in path.read_text().splitlines() if l.strip()]
