"""TextEmotionEstimator: an utterance -> distribution over the emotion labels.

Features per utterance: for each label, the mean cosine similarity of its MiniLM embedding to the
label's k nearest prototype utterances; plus nade's Plutchik-8 emotion scores (a pretrained social-
media emotion model, PyPI ``nade``) when installed. A small multinomial logistic head maps the
features to the labels; it is fitted on labelled calibration utterances (none of them prototypes).
"""
from __future__ import annotations

import csv
import importlib.util
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.config import config_dir, load_config, read_yaml
from policies.text_encoder import TextEncoder


@dataclass(frozen=True)
class PerceptionConfig:
    prototypes: str = "perception/prototypes.yaml"
    calibration: str = "perception/dev_utterances.tsv"
    top_k: int = 3
    use_nade: bool = True
    text_head_l2: float = 0.01
    max_chars: int = 2000
    quantize_text_encoder: bool = True
    min_motion_frames: int = 8
    uncertain_confidence: float = 0.35
    scenarios: dict[str, str] = field(default_factory=dict)


def load_perception_config(path: str | Path | None = None) -> PerceptionConfig:
    return load_config(path or config_dir() / "perception.yaml", PerceptionConfig)


def read_labelled_utterances(path: str | Path) -> tuple[list[str], list[str]]:
    """(labels, utterances) from a TSV with header ``label<TAB>utterance``."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or set(rows[0]) != {"label", "utterance"}:
        raise ValueError(f"{path}: expected a TSV with columns 'label' and 'utterance'")
    return [r["label"] for r in rows], [r["utterance"] for r in rows]


def has_words(text: str) -> bool:
    """True when the text holds at least one letter (not only emoji, digits or punctuation)."""
    return any(unicodedata.category(c).startswith("L") for c in text)


class NadeScores:
    """Plutchik-8 scores from nade, or None when the package is not installed."""

    LABELS = ("anger", "anticipation", "disgust", "fear", "joy", "sadness", "surprise", "trust")

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from nade import Nade

            self.model = Nade()

    def __call__(self, texts: list[str]) -> np.ndarray:
        raw = self.model.predict([t.replace("\n", " ") for t in texts])
        return np.stack([np.asarray(raw[k].to_numpy(zero_copy_only=False), dtype=np.float32) for k in self.LABELS], axis=1)


def nade_available() -> bool:
    return importlib.util.find_spec("nade") is not None


class TextEmotionEstimator:
    def __init__(self, labels: list[str], config: PerceptionConfig | None = None,
                 text_encoder: TextEncoder | None = None) -> None:
        self.labels = list(labels)
        self.config = config or load_perception_config()
        self.encoder = text_encoder or TextEncoder()
        protos = read_yaml(config_dir() / self.config.prototypes)
        missing = [l for l in self.labels if l not in protos]
        if missing:
            raise ValueError(f"{self.config.prototypes}: no prototypes for labels {missing}")
        self.proto_emb = [self.encoder.encode(list(protos[l])) for l in self.labels]
        self.nade = NadeScores() if self.config.use_nade and nade_available() else None
        self.weights: np.ndarray | None = None
        self.bias: np.ndarray | None = None

    @property
    def feature_names(self) -> list[str]:
        names = [f"proto:{l}" for l in self.labels]
        return names + [f"nade:{p}" for p in NadeScores.LABELS] if self.nade else names

    def features(self, texts: list[str]) -> np.ndarray:
        emb = self.encoder.encode([t[: self.config.max_chars] for t in texts])
        k = self.config.top_k
        proto = np.stack([np.sort(emb @ p.T, axis=1)[:, -k:].mean(1) for p in self.proto_emb], axis=1)
        if self.nade is None:
            return proto
        return np.concatenate([proto, self.nade([t[: self.config.max_chars] for t in texts])], axis=1)

    def fit(self, texts: list[str], labels: list[str], steps: int = 800, lr: float = 0.5) -> dict:
        """Multinomial logistic regression on standardised features (full-batch gradient descent)."""
        x = self.features(texts)
        self.mu, self.sd = x.mean(0), x.std(0) + 1e-6
        x = (x - self.mu) / self.sd
        y = np.array([self.labels.index(l) for l in labels])
        w = np.zeros((x.shape[1], len(self.labels)))
        b = np.zeros(len(self.labels))
        onehot = np.eye(len(self.labels))[y]
        for _ in range(steps):
            p = _softmax(x @ w + b)
            grad = p - onehot
            w -= lr * (x.T @ grad / len(x) + self.config.text_head_l2 * w)
            b -= lr * grad.mean(0)
        self.weights, self.bias = w, b
        p = _softmax(x @ w + b)
        return {"train_accuracy": float((p.argmax(1) == y).mean()), "train_nll": float(-np.log(p[np.arange(len(y)), y] + 1e-12).mean())}

    def out_of_fold_proba(self, texts: list[str], labels: list[str], folds: int = 5, seed: int = 0) -> np.ndarray:
        """Probabilities for each utterance from a head fitted without it (k-fold), for calibration."""
        order = np.random.default_rng(seed).permutation(len(texts))
        out = np.zeros((len(texts), len(self.labels)))
        for f in range(folds):
            held = order[f::folds]
            keep = np.setdiff1d(order, held)
            self.fit([texts[i] for i in keep], [labels[i] for i in keep])
            out[held] = self.predict_proba([texts[i] for i in held])
        return out

    def fit_default(self) -> dict:
        labels, texts = read_labelled_utterances(config_dir() / self.config.calibration)
        return self.fit(texts, labels)

    def logits(self, texts: list[str]) -> np.ndarray:
        if self.weights is None:
            self.fit_default()
        return ((self.features(texts) - self.mu) / self.sd) @ self.weights + self.bias

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return _softmax(self.logits(texts))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
