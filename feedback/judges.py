"""Judges of one executed interaction (DESIGN §2): physical (fall, tracking), emotional (the
motion-emotion classifier on the executed trajectory vs the intended emotion), semantic (evaluator
text-motion distance), novelty (gate entropy; a scenario no expert covers). Plain classes."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from feedback.store import Verdict


@dataclass(frozen=True)
class JudgeThresholds:
    max_tracking_mm: float = 150.0  # root-relative MPJPE of the executed vs the intended motion
    min_emotion_prob: float = 0.0  # the intended emotion must be the top class (and above this)
    max_semantic_distance: float = 1.2  # evaluator text-motion Euclidean distance (unit vectors: 0..2)
    min_gate_entropy_novel: float = 0.9  # normalised gate entropy above which a request counts as novel


class InteractionJudge:
    """All four judges; ``emotion`` and ``evaluator`` may be None (that judge then passes, and says so)."""

    def __init__(self, thresholds: JudgeThresholds, emotion=None, evaluator=None) -> None:
        self.t, self.emotion, self.evaluator = thresholds, emotion, evaluator

    def physical(self, result) -> tuple[bool, dict]:
        m = result.metrics
        ok = bool(result.success) and (not math.isfinite(m.mpjpe_root_rel_mm) or m.mpjpe_root_rel_mm <= self.t.max_tracking_mm)
        return ok, {"sim_reason": result.reason, "mpjpe_root_rel_mm": _f(m.mpjpe_root_rel_mm), "failed_at_s": result.failed_at_s}

    def emotional(self, features: np.ndarray, intended: str | None) -> tuple[bool, dict]:
        if self.emotion is None or intended is None or intended not in self.emotion.labels:
            return True, {"emotion": "not judged"}
        if len(features) < self.emotion.min_frames:
            return False, {"emotion": "motion too short to judge"}
        p = self.emotion.predict_proba([features])[0]
        top = int(np.argmax(p))
        want = self.emotion.labels.index(intended)
        return top == want and p[want] >= self.t.min_emotion_prob, {"emotion_pred": self.emotion.labels[top],
                                                                    "emotion_prob": round(float(p[want]), 4)}

    def semantic(self, features: np.ndarray, text: str) -> tuple[bool, dict]:
        if self.evaluator is None:
            return True, {"semantic": "not judged"}
        d = float(np.linalg.norm(self.evaluator.embed_motions([features])[0] - self.evaluator.embed_texts([text])[0]))
        return d <= self.t.max_semantic_distance, {"semantic_distance": round(d, 4)}

    def novelty(self, gate_weights: dict[str, float], scenario: str) -> tuple[bool, dict]:
        w = np.array([v for v in gate_weights.values() if v > 0], dtype=float)
        ent = float(-(w * np.log(w)).sum() / math.log(len(gate_weights))) if len(gate_weights) > 1 and len(w) else 0.0
        uncovered = scenario not in gate_weights
        return uncovered or ent >= self.t.min_gate_entropy_novel, {"gate_entropy": round(ent, 4), "uncovered": uncovered}

    def __call__(self, result, features: np.ndarray | None, text: str, intended: str | None,
                 gate_weights: dict[str, float], scenario: str) -> Verdict:
        """``result`` is the ExecutionResult, ``features`` the executed trajectory's 263-d features."""
        phys, d1 = self.physical(result)
        if features is None or not len(features):
            emo, d2, sem, d3 = False, {"emotion": "no trajectory"}, False, {"semantic": "no trajectory"}
        else:
            emo, d2 = self.emotional(features, intended)
            sem, d3 = self.semantic(features, text)
        novel, d4 = self.novelty(gate_weights, scenario)
        reason = "ok" if phys and emo and sem else ("physical" if not phys else "emotional" if not emo else "semantic")
        return Verdict(phys and emo and sem, phys, emo, sem, novel, reason, {**d1, **d2, **d3, **d4})


def _f(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None
