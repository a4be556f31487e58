"""Fusing text and motion emotion evidence into one calibrated distribution.

Each modality's log-probabilities are divided by its temperature (fitted on validation data by
minimum negative log-likelihood, Guo et al. 2017) and the two are added (a product of experts),
then a final temperature calibrates the product. A missing modality simply drops out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Temperatures searched; the floor keeps a perfectly separated validation set from driving T to 0.
_GRID = np.exp(np.linspace(np.log(0.25), np.log(20.0), 121))


def _nll(logp: np.ndarray, y: np.ndarray) -> float:
    return float(-logp[np.arange(len(y)), y].mean())


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def fit_temperature(logp: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising the NLL of softmax(logp / T) on labels ``y`` (grid search, 0.25..20)."""
    return float(min(_GRID, key=lambda t: _nll(_log_softmax(logp / t), y)))


def expected_calibration_error(prob: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    conf = prob.max(1)
    correct = prob.argmax(1) == y
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(ece)


@dataclass
class EmotionFusion:
    t_text: float = 1.0
    t_motion: float = 1.0
    t_joint: float = 1.0

    def fuse(self, p_text: np.ndarray | None, p_motion: np.ndarray | None) -> np.ndarray:
        """(N, L) probabilities from either or both modalities -> fused (N, L)."""
        if p_text is None and p_motion is None:
            raise ValueError("fusion needs at least one modality")
        z = 0.0
        if p_text is not None:
            z = z + np.log(np.clip(p_text, 1e-12, 1)) / self.t_text
        if p_motion is not None:
            z = z + np.log(np.clip(p_motion, 1e-12, 1)) / self.t_motion
        t = self.t_joint if (p_text is not None and p_motion is not None) else 1.0
        return np.exp(_log_softmax(np.asarray(z) / t))

    def fit(self, p_text: np.ndarray, p_motion: np.ndarray, y: np.ndarray) -> dict:
        lt, lm = np.log(np.clip(p_text, 1e-12, 1)), np.log(np.clip(p_motion, 1e-12, 1))
        self.t_text, self.t_motion = fit_temperature(lt, y), fit_temperature(lm, y)
        self.t_joint = 1.0
        joint = np.log(np.clip(self.fuse(p_text, p_motion), 1e-12, 1))
        self.t_joint = fit_temperature(joint, y)
        return {"t_text": self.t_text, "t_motion": self.t_motion, "t_joint": self.t_joint}
