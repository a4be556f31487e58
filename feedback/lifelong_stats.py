"""Intervals for the lifelong table (DESIGN §6): AR, AWF and FR recomputed from per-item results, so the
test windows can be resampled; a hierarchical bootstrap over runs (training seed x scenario order) and test
windows gives each method's 95 % interval and, paired (same windows, same seed and order), the interval of
a difference between two methods; the minimum detectable difference follows from its standard error.

A run is a :class:`RunItems`: for every cell (after scenario k, on scenario j) the top-1 R-Precision hit of
each test item and the emotion the classifier read from it. Items of scenario j are the same list in every
run (same windows, same descriptions, same R-Precision pools), which is what makes the pairing valid.
Windows are resampled as clusters: the descriptions of one window go in or out together.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

Z_975 = 1.959963984540054  # two-sided 95 %
Z_80 = 0.8416212335729143  # power 0.8


@dataclass
class ScenarioItems:
    """The scored items of one scenario: the window each item comes from, and the intended emotion (or None)."""

    windows: list[str]
    emotions: list[str | None]

    def clusters(self) -> list[np.ndarray]:
        """Item indices grouped by window, windows in first-seen order."""
        groups: dict[str, list[int]] = {}
        for i, w in enumerate(self.windows):
            groups.setdefault(w, []).append(i)
        return [np.asarray(g) for g in groups.values()]


@dataclass
class RunItems:
    """One method, one seed, one order: per-item results of each evaluated cell."""

    order: list[str]
    hits: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (after, on) -> (n,) 0/1
    preds: dict[tuple[str, str], list[str | None]] = field(default_factory=dict)  # (after, on) -> labels

    def __post_init__(self) -> None:
        self.hits = {k: np.asarray(v, dtype=float) for k, v in self.hits.items()}

    @property
    def last(self) -> str:
        return self.order[-1]


def weighted_f1_codes(true: np.ndarray, pred: np.ndarray, n_labels: int) -> float:
    """Support-weighted F1 from integer-coded labels (the same value as metrics.weighted_f1), vectorised
    through the confusion matrix for the bootstrap's thousands of calls."""
    if len(true) == 0:
        return float("nan")
    conf = np.bincount(true * n_labels + pred, minlength=n_labels * n_labels).reshape(n_labels, n_labels)
    tp = np.diag(conf).astype(float)
    support = conf.sum(1)
    denom = 2 * tp + (conf.sum(0) - tp) + (support - tp)
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float((f1 * support).sum() / support.sum())


class LifelongStats:
    """AR, AWF and FR of runs, for given item resamples (``idx`` maps scenario -> item indices)."""

    def __init__(self, items: dict[str, ScenarioItems], labels: list[str], holdout: dict[str, list[str]] | None = None) -> None:
        """``holdout``: scenario -> emotions never trained in it; AWF-held and AWF-trained score the items of
        those emotion x scenario combinations and of the others (an emotion-transfer protocol)."""
        self.items = items
        self.labels = list(labels)
        self._held = {s: np.array([e in set((holdout or {}).get(s, ())) for e in it.emotions], dtype=bool)
                      for s, it in items.items()}
        code = {l: i for i, l in enumerate(self.labels)}
        self._true = {s: np.array([code.get(e, -1) if e is not None else -1 for e in it.emotions]) for s, it in items.items()}
        self._code = code
        self._clusters = {s: it.clusters() for s, it in items.items()}
        self._pred_codes: dict[int, np.ndarray] = {}  # id(prediction list) -> integer codes (-1: none)

    def _codes(self, pred: list[str | None]) -> np.ndarray:
        key = id(pred)
        if key not in self._pred_codes:
            self._pred_codes[key] = np.array([self._code.get(x, -1) if x is not None else -1 for x in pred])
        return self._pred_codes[key]

    def identity(self) -> dict[str, np.ndarray]:
        return {s: np.arange(len(it.windows)) for s, it in self.items.items()}

    def resample(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Each scenario's windows drawn with replacement (as many as it has); their items follow."""
        out = {}
        for s, groups in self._clusters.items():
            pick = rng.integers(0, len(groups), len(groups))
            if len(groups) == len(self.items[s].windows):  # one item per window: the draw is the index
                out[s] = np.concatenate(groups)[pick]
            else:
                out[s] = np.concatenate([groups[i] for i in pick])
        return out

    def r(self, run: RunItems, after: str, on: str, idx: dict[str, np.ndarray]) -> float:
        """Top-1 R-Precision of a cell; NaN where it has no hits (fewer items than a pool of 32, e.g. a small
        val split): AR and FR are then undefined, not an error."""
        h = run.hits.get((after, on))
        return float(h[idx[on]].mean()) if h is not None else float("nan")

    def ar(self, run: RunItems, idx: dict[str, np.ndarray]) -> float:
        """Mean top-1 R-Precision (%) over the scenarios after the last one."""
        return 100.0 * float(np.mean([self.r(run, run.last, j, idx) for j in run.order]))

    def awf(self, run: RunItems, idx: dict[str, np.ndarray], subset: str | None = None) -> float:
        """Mean emotion weighted F1 (%) over the scenarios (those with labelled items) after the last one;
        ``subset`` ``held`` / ``trained``: only the items of held-out / trained emotion x scenario combinations."""
        vals = []
        for j in run.order:
            t = self._true[j][idx[j]]
            pred = run.preds.get((run.last, j))
            if pred is None:
                continue
            p = self._codes(pred)[idx[j]]
            keep = (t >= 0) & (p >= 0)
            if subset is not None:
                held = self._held[j][idx[j]]
                keep &= held if subset == "held" else ~held
            if keep.any():
                vals.append(weighted_f1_codes(t[keep], p[keep], len(self.labels)))
        return 100.0 * float(np.mean(vals)) if vals else float("nan")

    def fr(self, run: RunItems, idx: dict[str, np.ndarray]) -> float:
        """Forgetting rate in points: mean over j < N of max_{k in j..N-1} r_kj - r_Nj (feedback.lifelong)."""
        n = len(run.order)
        if n < 2 or (run.order[0], run.order[0]) not in run.hits:
            return float("nan")  # a joint run (MTL) has no row before the last
        drops = []
        for a, j in enumerate(run.order[:-1]):
            best = max(self.r(run, run.order[k], j, idx) for k in range(a, n - 1))
            drops.append(best - self.r(run, run.last, j, idx))
        return 100.0 * float(np.mean(drops))

    def metric(self, name: str, run: RunItems, idx: dict[str, np.ndarray]) -> float:
        if name in ("AWF-held", "AWF-trained"):
            return self.awf(run, idx, name.split("-")[1])
        return {"AR": self.ar, "AWF": self.awf, "FR": self.fr}[name](run, idx)


def _interval(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if not len(v):
        return float("nan"), float("nan")
    return float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))


def bootstrap_method(stats: LifelongStats, runs: list[RunItems], metrics=("AR", "AWF", "FR"), resamples: int = 2000,
                     seed: int = 0) -> dict[str, dict]:
    """Mean over runs and its 95 % percentile interval, resampling runs and test windows together."""
    rng = np.random.default_rng(seed)
    point = {m: float(np.mean([stats.metric(m, r, stats.identity()) for r in runs])) for m in metrics}
    draws = {m: np.empty(resamples) for m in metrics}
    for b in range(resamples):
        idx = stats.resample(rng)
        pick = rng.integers(0, len(runs), len(runs))
        for m in metrics:
            draws[m][b] = np.mean([stats.metric(m, runs[i], idx) for i in pick])
    return {m: {"mean": point[m], "ci": _interval(draws[m]), "runs": len(runs)} for m in metrics}


def bootstrap_difference(stats: LifelongStats, pairs: list[tuple[RunItems, RunItems]], metrics=("AR", "AWF", "FR"),
                         resamples: int = 2000, seed: int = 0) -> dict[str, dict]:
    """Paired difference A - B over ``pairs`` (same seed and order, same test windows): mean, 95 % interval,
    bootstrap standard error and the minimum detectable difference (two-sided 5 %, power 0.8:
    (1.96 + 0.84) x SE)."""
    rng = np.random.default_rng(seed)
    ident = stats.identity()
    point = {m: float(np.mean([stats.metric(m, a, ident) - stats.metric(m, b, ident) for a, b in pairs])) for m in metrics}
    draws = {m: np.empty(resamples) for m in metrics}
    for i in range(resamples):
        idx = stats.resample(rng)
        pick = rng.integers(0, len(pairs), len(pairs))
        for m in metrics:
            draws[m][i] = np.mean([stats.metric(m, pairs[k][0], idx) - stats.metric(m, pairs[k][1], idx) for k in pick])
    out = {}
    for m in metrics:
        v = draws[m][np.isfinite(draws[m])]
        se = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
        out[m] = {"mean": point[m], "ci": _interval(draws[m]), "se": se, "mdd": (Z_975 + Z_80) * se, "pairs": len(pairs)}
    return out


def t_interval(values: list[float]) -> dict:
    """Mean and 95 % Student-t interval over runs (for AF, AD, AMM, which do not split into items)."""
    from scipy import stats as st

    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if not len(v):
        return {"mean": float("nan"), "ci": (float("nan"), float("nan")), "runs": 0}
    if len(v) == 1:
        return {"mean": float(v[0]), "ci": (float("nan"), float("nan")), "runs": 1}
    half = float(st.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return {"mean": float(v.mean()), "ci": (float(v.mean() - half), float(v.mean() + half)), "runs": int(len(v))}
