"""Text -> motion-token training pairs: a prepared dataset's windows tokenised once by the VQ tokenizer."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.data.dataset import L2EMGDataset


@dataclass(frozen=True)
class TokenSample:
    codes: np.ndarray  # (N,) VQ codes, 4 frames each
    texts: list[str]
    emotion: str | None
    scenario: str
    split: str
    sample_id: str


class TokenCorpus:
    """All windows of a dataset as code sequences, grouped by split and scenario."""

    def __init__(self, samples: list[TokenSample], dataset: L2EMGDataset | None = None) -> None:
        self.samples = samples
        self.dataset = dataset
        self._records = {s.sample_id: s for s in dataset.samples} if dataset is not None else {}

    @classmethod
    def from_dataset(cls, dataset: L2EMGDataset, tokenizer, progress: bool = False) -> "TokenCorpus":
        from tqdm import tqdm

        out = []
        for s in tqdm(dataset.samples, desc=f"tokenise {dataset.name}", unit="window", disable=not progress, mininterval=2.0):
            if s.length < tokenizer.config.downsample:
                continue
            out.append(TokenSample(tokenizer.encode_features(dataset.features(s)), list(s.texts), s.emotion,
                                   s.scenario, s.split, s.sample_id))
        return cls(out, dataset)

    def select(self, split: str, scenarios: list[str] | None = None) -> list[TokenSample]:
        return [s for s in self.samples if s.split == split and (scenarios is None or s.scenario in scenarios)]

    @property
    def scenarios(self) -> list[str]:
        return sorted({s.scenario for s in self.samples})

    def texts(self, split: str | None = None) -> list[str]:
        return [t for s in self.samples if split is None or s.split == split for t in s.texts]

    def features(self, sample: TokenSample) -> np.ndarray:
        """The real (raw, 263-d) features of a sample's window, for metrics."""
        if self.dataset is None:
            raise ValueError("this corpus was built without its dataset; real features are unavailable")
        return self.dataset.features(self._records[sample.sample_id])


def draw_batch(samples: list[TokenSample], batch: int, rng: np.random.Generator) -> tuple[list[str], list[np.ndarray], list[str | None]]:
    """A random batch with one of each sample's texts picked at random."""
    idx = rng.integers(0, len(samples), size=batch)
    picked = [samples[i] for i in idx]
    texts = [s.texts[rng.integers(0, len(s.texts))] for s in picked]
    return texts, [s.codes for s in picked], [s.emotion for s in picked]
