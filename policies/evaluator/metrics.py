"""Generation metrics with one definition everywhere (DESIGN §6), computed on evaluator embeddings."""
from __future__ import annotations

import numpy as np
from scipy import linalg


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), as in Heusel et al. 2017 (pytorch-fid's form)."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def gaussian_stats(emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    emb = np.asarray(emb, dtype=np.float64)
    if len(emb) < 2:
        raise ValueError(f"FID needs at least 2 embeddings per set, got {len(emb)}")
    return emb.mean(0), np.cov(emb, rowvar=False)


def fid(real: np.ndarray, generated: np.ndarray) -> float:
    return frechet_distance(*gaussian_stats(real), *gaussian_stats(generated))


def r_precision_hits(motion_emb: np.ndarray, text_emb: np.ndarray, pool: int = 32, top_k: tuple[int, ...] = (1, 2, 3),
                     seed: int = 0) -> np.ndarray:
    """(n, len(top_k)) booleans: whether motion i's own text ranks within the top k among ``pool`` texts (1
    true + pool-1 random others), by Euclidean distance. The pools depend on ``n`` and ``seed`` only, so two
    generators scored on the same texts meet the same pools (per-item results pair up)."""
    n = len(motion_emb)
    if n < pool:
        raise ValueError(f"R-Precision in pools of {pool} needs at least {pool} pairs, got {n}")
    rng = np.random.default_rng(seed)
    hits = np.zeros((n, len(top_k)), dtype=bool)
    for i in range(n):
        others = rng.choice(n - 1, size=pool - 1, replace=False)
        others = others + (others >= i)
        cand = np.concatenate([[i], others])
        dist = np.linalg.norm(text_emb[cand] - motion_emb[i], axis=-1)
        rank = int((dist < dist[0]).sum())  # ties count in the motion's favour
        hits[i] = [rank < k for k in top_k]
    return hits


def r_precision(motion_emb: np.ndarray, text_emb: np.ndarray, pool: int = 32, top_k: tuple[int, ...] = (1, 2, 3),
                seed: int = 0) -> dict[int, float]:
    """Share of motions whose own text ranks within the top k among ``pool`` texts (1 true + pool-1
    random others), by Euclidean distance."""
    hits = r_precision_hits(motion_emb, text_emb, pool, top_k, seed)
    return {k: float(hits[:, i].mean()) for i, k in enumerate(top_k)}


def mm_dist(motion_emb: np.ndarray, text_emb: np.ndarray) -> float:
    """Mean distance between each motion and its own text."""
    return float(np.linalg.norm(motion_emb - text_emb, axis=-1).mean())


def diversity(emb: np.ndarray, pairs: int = 300, seed: int = 0) -> float:
    """Mean distance between ``pairs`` random pairs of embeddings (fewer if the set is small)."""
    n = len(emb)
    if n < 2:
        raise ValueError("diversity needs at least 2 embeddings")
    pairs = min(pairs, n // 2)
    rng = np.random.default_rng(seed)
    a, b = rng.choice(n, pairs, replace=False), rng.choice(n, pairs, replace=False)
    return float(np.linalg.norm(emb[a] - emb[b], axis=-1).mean())


def multimodality(groups: list[np.ndarray], pairs: int = 10, seed: int = 0) -> float:
    """Mean distance between pairs of generations for the same text; ``groups`` holds (n_i, D) per text."""
    rng = np.random.default_rng(seed)
    dists = []
    for g in groups:
        if len(g) < 2:
            continue
        for _ in range(pairs):
            i, j = rng.choice(len(g), 2, replace=False)
            dists.append(np.linalg.norm(g[i] - g[j]))
    if not dists:
        raise ValueError("multimodality needs at least one text with 2 or more generations")
    return float(np.mean(dists))


def weighted_f1(y_true: list | np.ndarray, y_pred: list | np.ndarray, labels: list | None = None) -> float:
    """Support-weighted mean of per-class F1 (sklearn's ``average='weighted'``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0:
        raise ValueError("weighted F1 of an empty set")
    labels = list(labels) if labels is not None else sorted(set(y_true.tolist()))
    total, score = 0, 0.0
    for c in labels:
        support = int((y_true == c).sum())
        if support == 0:
            continue
        tp = int(((y_true == c) & (y_pred == c)).sum())
        fp = int(((y_true != c) & (y_pred == c)).sum())
        fn = support - tp
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        score += support * f1
        total += support
    return score / total if total else 0.0


def macro_f1(y_true, y_pred, labels: list | None = None) -> float:
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = list(labels) if labels is not None else sorted(set(y_true.tolist()))
    scores = []
    for c in labels:
        tp = int(((y_true == c) & (y_pred == c)).sum())
        fp = int(((y_true != c) & (y_pred == c)).sum())
        fn = int(((y_true == c) & (y_pred != c)).sum())
        if tp + fp + fn:
            scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0
