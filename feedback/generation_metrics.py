"""The metric suite for generated motions: FID, R-Precision, MM-Dist, Diversity, MultiModality,
emotion weighted F1, in one call (the Python API the lifelong benchmark uses)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from policies.emotion import MotionEmotionClassifier
from policies.evaluator import MotionTextEvaluator
from policies.evaluator.metrics import diversity, fid, mm_dist, multimodality, r_precision_hits, weighted_f1


@dataclass
class GenerationMetrics:
    evaluator: MotionTextEvaluator
    emotion: MotionEmotionClassifier | None = None
    seed: int = 0

    def real_embeddings(self, features: list[np.ndarray]) -> np.ndarray:
        return self.evaluator.embed_motions(features)

    def __call__(self, generated: list[np.ndarray], texts: list[str], real: list[np.ndarray] | np.ndarray,
                 emotions: list[str | None] | None = None, multimodal: list[list[np.ndarray]] | None = None,
                 per_item: bool = False) -> dict:
        """``generated[i]`` was made from ``texts[i]`` (intended emotion ``emotions[i]``); ``real`` are
        reference motions (features, or their embeddings); ``multimodal`` holds several generations per text.
        ``per_item`` adds what the paired bootstrap resamples: ``top1_hits`` (n booleans) and ``emotion_pred``
        (the classifier's label per item, None where no emotion is intended)."""
        if len(generated) != len(texts):
            raise ValueError(f"{len(generated)} generated motions for {len(texts)} texts")
        gen = self.evaluator.embed_motions(generated)
        txt = self.evaluator.embed_texts(texts)
        real_emb = real if isinstance(real, np.ndarray) and real.ndim == 2 and real.shape[1] == gen.shape[1] else self.real_embeddings(list(real))
        out = {"fid": fid(real_emb, gen), "mm_dist": mm_dist(gen, txt), "diversity": diversity(gen, seed=self.seed)}
        if len(gen) >= 32:
            hits = r_precision_hits(gen, txt, seed=self.seed)
            out.update({f"r_precision_top{k}": float(hits[:, i].mean()) for i, k in enumerate((1, 2, 3))})
            if per_item:
                out["top1_hits"] = hits[:, 0].tolist()
        if multimodal:
            out["multimodality"] = multimodality([self.evaluator.embed_motions(g) for g in multimodal], seed=self.seed)
        if self.emotion is not None and emotions is not None:
            keep = [i for i, e in enumerate(emotions) if e is not None]
            if keep:
                pred = self.emotion.predict([generated[i] for i in keep])
                out["weighted_f1"] = weighted_f1([emotions[i] for i in keep], pred, self.emotion.labels)
                if per_item:
                    by_item = dict(zip(keep, pred))
                    out["emotion_pred"] = [by_item.get(i) for i in range(len(generated))]
        return out
