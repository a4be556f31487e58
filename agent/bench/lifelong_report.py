"""The paper-style table (mean and spread over scenario orders), heatmaps and a markdown report."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from envs.atomic import atomic_write_text

COLUMNS = ("AF", "AR", "AD", "AMM", "AWF", "FR")
LOWER_IS_BETTER = {"AF", "FR"}


def aggregate(runs: list[dict]) -> dict[str, dict]:
    """method -> {metric: {"mean", "std", "orders"}}."""
    table: dict[str, dict] = {}
    for r in runs:
        table.setdefault(r["method"], {c: [] for c in COLUMNS})
        for c in COLUMNS:
            v = r["summary"].get(c, float("nan"))
            if v is not None and math.isfinite(v):
                table[r["method"]][c].append(v)
    return {m: {c: ({"mean": round(float(np.mean(v)), 4), "std": round(float(np.std(v)), 4), "orders": len(v)} if v else None)
                for c, v in cols.items()} for m, cols in table.items()}


def markdown_table(table: dict[str, dict]) -> str:
    head = "| method | " + " | ".join(f"{c} {'↓' if c in LOWER_IS_BETTER else '↑'}" for c in COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(COLUMNS) + 1)]
    for m, cols in table.items():
        cells = [f"{cols[c]['mean']:.3f} ± {cols[c]['std']:.3f}" if cols[c] else "–" for c in COLUMNS]
        rows.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def write_report(out_dir: str | Path, result: dict, runs: list[dict]) -> Path:
    """report.md + result.json + one R-Precision heatmap per method and order."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = []
    for r in runs:
        slug = r["method"].replace("/", "").replace(" ", "_").lower()
        path = out / f"heatmap_{slug}_order{r['order_index']}.png"
        r["matrix"].heatmap(path, "r_precision_top1", f"{r['method']} – top-1 R-Precision, order {r['order_index']}")
        figures.append(path.name)
    lines = [f"# L2-EMG lifelong benchmark: {result['benchmark']} ({result['setting']}, split {result['split']})", "",
             f"Backbone `{result['backbone']}` ({result['backbone_parameters']:,} parameters); {result['orders']} scenario orders; "
             f"{result['steps_per_scenario']} steps of batch {result['batch']} per scenario; wall time {result['seconds'] / 60:.1f} min.", "",
             "AF = mean FID, AR = mean top-1 R-Precision (%), AD = diversity, AMM = multimodality, AWF = emotion weighted F1 (%) "
             "over all scenarios after the last one; FR = forgetting rate (points of top-1 R-Precision; MTL has no sequence).", "",
             markdown_table(result["table"]), ""]
    if result.get("reference"):
        lines += ["References on the same evaluation samples (no learning involved):", "",
                  "| reference | AF | AR | AD | AWF |", "|---|---|---|---|---|"]
        lines += [f"| {k} | {v['AF']:.3f} | {v['AR']:.2f} | {v['AD']:.3f} | {v['AWF']:.2f} |" for k, v in result["reference"].items()]
        lines += [""]
    if result.get("ablations"):
        lines += ["## Ablations", "", markdown_table(result["ablations"]), ""]
    lines += ["## Orders", ""] + [f"- order {i}: {' → '.join(o)}" for i, o in enumerate(result["scenario_orders"])] + [""]
    lines += ["## Scenario matrices (top-1 R-Precision; row = after training on, column = evaluated on)", ""]
    lines += [f"![{f}]({f})" for f in figures]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    atomic_write_text(out / "result.json", json.dumps(result, indent=2))
    return out / "report.md"
