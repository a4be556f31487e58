"""Judges of one executed interaction (DESIGN §2): physical (fall, tracking), emotional (the
motion-emotion classifier on the executed trajectory vs the intended emotion), semantic (evaluator
text-motion distance), novelty (gate entropy; a scenario no expert covers). Plain classes."""
from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np

from feedback.store import Verdict


@dataclass(frozen=True)
class JudgeThresholds:
    max_tracking_mm: float = 150.0  # root-relative MPJPE of the executed vs the intended motion
    min_emotion_prob: float = 0.0  # the intended emotion must be the top class (and above this)
    semantic_top_k: int = 3  # the instruction must rank in the top k of its pool (R-Precision, DESIGN §6)
    semantic_pool: int = 32  # the instruction + (pool - 1) distractor descriptions
    min_gate_entropy_novel: float = 0.9  # normalised gate entropy above which a request counts as novel


class InteractionJudge:
    """All four judges; ``emotion`` and ``evaluator`` may be None (that judge then passes, and says so)."""

    def __init__(self, thresholds: JudgeThresholds, emotion=None, evaluator=None, distractors: list[str] | None = None) -> None:
        """``distractors``: held-out descriptions the semantic judge ranks the instruction against."""
        self.t, self.emotion, self.evaluator = thresholds, emotion, evaluator
        self._distractors = None
        if evaluator is not None:
            if not distractors or len(distractors) < thresholds.semantic_pool - 1:
                raise ValueError(f"the semantic judge needs at least {thresholds.semantic_pool - 1} distractor descriptions")
            self._distractors = evaluator.embed_texts(list(distractors))

    def physical(self, result) -> tuple[bool, dict]:
        m = result.metrics
        ok = bool(result.success) and (not math.isfinite(m.mpjpe_root_rel_mm) or m.mpjpe_root_rel_mm <= self.t.max_tracking_mm)
        out = {"sim_reason": result.reason, "mpjpe_root_rel_mm": _f(m.mpjpe_root_rel_mm), "failed_at_s": result.failed_at_s}
        if getattr(result, "detail", None):  # what a refused reference or an implausible motion got wrong
            out["sim_detail"] = result.detail
        return ok, out

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
        """R-Precision for one motion: is its instruction among the ``semantic_top_k`` nearest of a pool of
        the instruction and ``semantic_pool - 1`` distractors (drawn reproducibly per text)? A relative test,
        so it does not hinge on the absolute distances a given evaluator happens to produce."""
        if self.evaluator is None:
            return True, {"semantic": "not judged"}
        m = self.evaluator.embed_motions([features])[0]
        d = float(np.linalg.norm(m - self.evaluator.embed_texts([text])[0]))
        if not np.isfinite(d):
            return False, {"semantic": "non-finite motion embedding"}
        rng = np.random.default_rng(zlib.crc32(text.encode()))
        pool = self._distractors[rng.choice(len(self._distractors), self.t.semantic_pool - 1, replace=False)]
        rank = int((np.linalg.norm(pool - m, axis=1) < d).sum())
        return rank < self.t.semantic_top_k, {"semantic_distance": round(d, 4), "semantic_rank": rank}

    def novelty(self, gate_weights: dict[str, float], scenario: str) -> tuple[bool, dict]:
        w = np.array([v for v in gate_weights.values() if v > 0], dtype=float)
        ent = float(-(w * np.log(w)).sum() / math.log(len(gate_weights))) if len(gate_weights) > 1 and len(w) else 0.0
        uncovered = scenario not in gate_weights
        return uncovered or ent >= self.t.min_gate_entropy_novel, {"gate_entropy": round(ent, 4), "uncovered": uncovered}

    def __call__(self, result, features: np.ndarray | None, text: str, intended: str | None,
                 gate_weights: dict[str, float], scenario: str) -> Verdict:
        """``result`` is the ExecutionResult, ``features`` the executed trajectory's 263-d features."""
        phys, d1 = self.physical(result)
        if features is None or not len(features) or not np.isfinite(features).all():
            emo, d2, sem, d3 = False, {"emotion": "no usable trajectory"}, False, {"semantic": "no usable trajectory"}
        else:
            emo, d2 = self.emotional(features, intended)
            sem, d3 = self.semantic(features, text)
        novel, d4 = self.novelty(gate_weights, scenario)
        phys, emo, sem, novel = bool(phys), bool(emo), bool(sem), bool(novel)
        reason = "ok" if phys and emo and sem else ("physical" if not phys else "emotional" if not emo else "semantic")
        return Verdict(phys and emo and sem, phys, emo, sem, novel, reason, {**d1, **d2, **d3, **d4})


def _f(x: float) -> float | None:
    return round(float(x), 3) if math.isfinite(x) else None

