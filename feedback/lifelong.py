"""Lifelong-learning metrics over the scenario-by-scenario matrix (DESIGN §6) and its heatmap.

``matrix[metric][k, j]`` is the metric on scenario j after training through scenario k (row k).
After the last scenario N: AF, AR, AD, AMM, AWF are the means of the last row for FID, top-1
R-Precision, Diversity, MultiModality and emotion weighted F1; FR (forgetting rate) is
(1/(N-1)) sum_{j<N} [max_{k in j..N-1} r_{k,j} - r_{N,j}] in percentage points of top-1 R-Precision.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.atomic import atomic_save_figure

METRICS = ("fid", "r_precision_top1", "diversity", "multimodality", "weighted_f1")
SUMMARY_NAMES = {"fid": "AF", "r_precision_top1": "AR", "diversity": "AD", "multimodality": "AMM", "weighted_f1": "AWF"}


def forgetting_rate(r: np.ndarray) -> float:
    """FR in percentage points from an (N, N) top-1 R-Precision matrix (rows: after training on k)."""
    r = np.asarray(r, dtype=float)
    n = r.shape[0]
    if r.shape != (n, n) or n < 2:
        raise ValueError(f"FR needs a square matrix with at least 2 scenarios, got shape {r.shape}")
    drops = [np.nanmax(r[j:n - 1, j]) - r[n - 1, j] for j in range(n - 1)]
    return float(np.mean(drops) * 100.0)


@dataclass
class LifelongMatrix:
    """Scenario-by-scenario results of one method, one scenario order."""

    scenarios: list[str]
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.scenarios)
        for m in METRICS:
            self.values.setdefault(m, np.full((n, n), np.nan))

    def record(self, after: str, on: str, metrics: dict[str, float]) -> None:
        k, j = self.scenarios.index(after), self.scenarios.index(on)
        for m, v in metrics.items():
            if m in self.values:
                self.values[m][k, j] = v

    def summary(self) -> dict[str, float]:
        """AF, AR, AD, AMM, AWF (last row means; AR and AWF in percent) and FR."""
        out = {}
        for m, name in SUMMARY_NAMES.items():
            last = self.values[m][-1]
            val = float(np.nanmean(last)) if np.isfinite(last).any() else float("nan")
            out[name] = val * 100.0 if m in ("r_precision_top1", "weighted_f1") else val
        r = self.values["r_precision_top1"]
        # no row before the last (a joint run such as MTL) or a single scenario: forgetting is undefined
        out["FR"] = forgetting_rate(r) if len(self.scenarios) > 1 and np.isfinite(r[:-1]).any() else float("nan")
        return out

    def to_dict(self) -> dict:
        return {"scenarios": self.scenarios,
                "values": {m: [[None if not np.isfinite(x) else round(float(x), 5) for x in row] for row in v]
                           for m, v in self.values.items()}}

    def heatmap(self, path: str | Path, metric: str = "r_precision_top1", title: str = "") -> Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        v = self.values[metric]
        n = len(self.scenarios)
        fig, ax = plt.subplots(figsize=(1.1 * n + 2.5, 0.9 * n + 1.8))
        im = ax.imshow(v, cmap="viridis_r" if metric == "fid" else "viridis")
        ax.set_xticks(range(n), self.scenarios, rotation=45, ha="right")
        ax.set_yticks(range(n), [f"after {s}" for s in self.scenarios])
        ax.set_xlabel("evaluated on")
        for k in range(n):
            for j in range(n):
                if np.isfinite(v[k, j]):
                    ax.text(j, k, f"{v[k, j]:.2f}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(im, ax=ax, label=metric)
        ax.set_title(title or metric)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_save_figure(fig, path, dpi=110)
        plt.close(fig)
        return path
