"""The lifelong table from a results folder's runs: each row's mean and 95 % interval over seeds x orders
(AR, AWF, FR by a bootstrap over runs and test windows; AF, AD, AMM by Student t over runs), the paired
difference of the compared row (the paper's ES-MoE) against every other, the minimum detectable AR
difference, and sentences that say only what the intervals support."""
from __future__ import annotations

import math

import numpy as np

from agent.bench.lifelong_methods import METHODS
from feedback.lifelong_stats import LifelongStats, RunItems, ScenarioItems, bootstrap_difference, bootstrap_method, t_interval

COLUMNS = ("AF", "AR", "AD", "AMM", "AWF", "FR")
LOWER_IS_BETTER = {"AF", "FR"}
ITEM_METRICS = ("AR", "AWF", "FR")


def run_items(rec: dict) -> RunItems:
    """The per-item results of a stored run."""
    hits, preds = {}, {}
    for key, cell in rec["cells"].items():
        after, on = key.split("|")
        if cell.get("hits") is not None:
            hits[(after, on)] = np.array([c == "1" for c in cell["hits"]], dtype=float)
        if cell.get("pred") is not None:
            preds[(after, on)] = cell["pred"]
    return RunItems(rec["order"], hits, preds)


def scenario_items(eval_items: dict) -> dict[str, ScenarioItems]:
    return {s: ScenarioItems(v["windows"], v["emotions"]) for s, v in eval_items.items()}


def table(records: list[dict], rows: list[str], eval_items: dict, labels: list[str], resamples: int, seed: int) -> dict:
    """method key -> {column: {mean, ci, runs}} for the rows that have runs."""
    stats = LifelongStats(scenario_items(eval_items), labels)
    out = {}
    for key in rows:
        recs = [r for r in records if r["method"] == key]
        if not recs:
            continue
        cols = {c: t_interval([r["summary"].get(c) for r in recs]) for c in ("AF", "AD", "AMM")}
        cols.update(bootstrap_method(stats, [run_items(r) for r in recs], ITEM_METRICS, resamples, seed))
        if all(not math.isfinite(r["summary"].get("FR", float("nan"))) for r in recs):
            cols["FR"] = None  # a joint run: no sequence, no forgetting rate
        out[key] = cols
    return out


def paired(records: list[dict], base: str, others: list[str], eval_items: dict, labels: list[str], resamples: int,
           seed: int, stats: LifelongStats | None = None, item_metrics: tuple[str, ...] | None = None) -> dict:
    """base - other for each other row, paired on (seed, order) (a joint row, with no order, pairs on seed)."""
    stats = stats or LifelongStats(scenario_items(eval_items), labels)
    mine = {(r["seed"], r["order_index"]): r for r in records if r["method"] == base}
    out = {}
    for other in others:
        if other == base:
            continue
        theirs = {(r["seed"], r["order_index"]): r for r in records if r["method"] == other}
        joint = bool(theirs) and all(r.get("joint") for r in theirs.values())
        pairs = [(run_items(a), run_items(theirs[(s, 0)] if joint else theirs[(s, i)]))
                 for (s, i), a in mine.items() if ((s, 0) if joint else (s, i)) in theirs]
        if not pairs:
            continue
        metrics = item_metrics or (("AR", "AWF") if joint else ITEM_METRICS)
        out[other] = bootstrap_difference(stats, pairs, metrics, resamples, seed)
    return out


TRANSFER_METRICS = ("AWF-held", "AWF-trained")


def transfer_table(records: list[dict], rows: list[str], eval_items: dict, labels: list[str], resamples: int, seed: int,
                   holdout: dict[str, list[str]], base: str) -> dict:
    """The emotion-transfer table: each row's emotion weighted F1 after the last scenario on the held-out emotion x
    scenario combinations and on the trained ones (mean and 95 % interval over runs and test windows), and the
    paired difference of ``base`` against every other row on the held-out ones."""
    stats = LifelongStats(scenario_items(eval_items), labels, holdout)
    out = {}
    for key in rows:
        recs = [r for r in records if r["method"] == key]
        if recs:
            out[key] = bootstrap_method(stats, [run_items(r) for r in recs], TRANSFER_METRICS, resamples, seed)
    return {"rows": out, "differences": paired(records, base, rows, eval_items, labels, resamples, seed, stats, TRANSFER_METRICS)}


def transfer_markdown(transfer: dict, holdout: dict[str, list[str]], base: str) -> list[str]:
    """The report's emotion-transfer section: the table, then one sentence per comparison from its interval."""
    lines = ["## Emotion transfer: held-out emotion x scenario combinations", "",
             "Held out of training (tested): " + "; ".join(f"{s}: {', '.join(e)}" for s, e in holdout.items()) + ".", "",
             "| method | runs | AWF held-out ↑ | AWF trained ↑ |", "|---|---|---|---|"]
    for key, cols in transfer["rows"].items():
        lines.append(f"| {METHODS[key].label} (`{key}`) | {cols['AWF-held']['runs']} | {_cell(cols['AWF-held'], 2)} | "
                     f"{_cell(cols['AWF-trained'], 2)} |")
    lines.append("")
    for other, d in transfer["differences"].items():
        held = d.get("AWF-held")
        if not held or not math.isfinite(held["mean"]):
            continue
        lo, hi = held["ci"]
        verdict = "no difference detected" if lo <= 0 <= hi else ("higher" if lo > 0 else "lower")
        lines.append(f"- {METHODS[base].label} − {METHODS[other].label}, AWF on held-out combinations: "
                     f"{held['mean']:+.2f} [{lo:+.2f}, {hi:+.2f}] ({verdict}; {held['pairs']} paired runs)")
    return lines


def _cell(c: dict | None, digits: int) -> str:
    if not c or not math.isfinite(c["mean"]):
        return "–"
    lo, hi = c["ci"]
    ci = f" [{lo:.{digits}f}, {hi:.{digits}f}]" if math.isfinite(lo) else ""
    return f"{c['mean']:.{digits}f}{ci}"


def markdown_table(rows: dict[str, dict]) -> str:
    digits = {"AF": 3, "AD": 3, "AMM": 3, "AR": 2, "AWF": 2, "FR": 2}
    head = "| method | runs | " + " | ".join(f"{c} {'↓' if c in LOWER_IS_BETTER else '↑'}" for c in COLUMNS) + " |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for key, cols in rows.items():
        runs = max((c["runs"] for c in cols.values() if c), default=0)
        lines.append(f"| {METHODS[key].label} (`{key}`) | {runs} | " + " | ".join(_cell(cols[c], digits[c]) for c in COLUMNS) + " |")
    return "\n".join(lines)


def reading(base: str, diffs: dict, rows: dict) -> list[str]:
    """One sentence per comparison, from the interval alone: higher / lower / no difference detected."""
    out = []
    name = METHODS[base].label
    for other, d in diffs.items():
        parts = []
        for m in ("AR", "AWF", "FR"):
            if m not in d or not math.isfinite(d[m]["mean"]):
                continue
            lo, hi = d[m]["ci"]
            verdict = "no difference detected" if lo <= 0 <= hi else ("higher" if lo > 0 else "lower")
            parts.append(f"{m} {d[m]['mean']:+.2f} [{lo:+.2f}, {hi:+.2f}] ({verdict})")
        out.append(f"- {name} − {METHODS[other].label}: " + "; ".join(parts))
    fr = rows.get("seqlora", {}).get("FR")
    if fr:
        lo, hi = fr["ci"]
        seen = "its interval excludes 0: the benchmark sees forgetting" if lo > 0 else \
            "its interval includes 0: the benchmark cannot tell its forgetting from noise"
        out.append(f"- SeqLoRA FR {fr['mean']:.2f} [{lo:.2f}, {hi:.2f}] points: {seen}.")
    return out


def mdd_sentence(diffs: dict) -> str:
    vals = [d["AR"]["mdd"] for d in diffs.values() if "AR" in d and math.isfinite(d["AR"]["mdd"])]
    if not vals:
        return "Minimum detectable AR difference: not available (no paired runs)."
    return (f"Minimum detectable AR difference (two-sided 5 %, power 0.8: 2.80 x the paired bootstrap SE): "
            f"{min(vals):.2f}-{max(vals):.2f} points over the {len(vals)} comparisons (median {np.median(vals):.2f}).")


def write_report(out, result: dict, records: list[dict]) -> str:
    """report.md (+ one top-1 R-Precision heatmap per row, its first seed and order) in ``out``."""
    from pathlib import Path

    from envs.atomic import atomic_write_text
    from feedback.lifelong import LifelongMatrix

    out = Path(out)
    figures = []
    for key in list(result["table"]) + list(result.get("ablations", {})):
        recs = sorted((r for r in records if r["method"] == key), key=lambda r: (r["order_index"], r["seed"]))
        if not recs:
            continue
        r = recs[0]
        m = LifelongMatrix(r["matrix"]["scenarios"], {k: np.array(v, dtype=float) for k, v in r["matrix"]["values"].items()})
        name = f"heatmap_{key}.png"
        m.heatmap(out / name, "r_precision_top1", f"{METHODS[key].label}: top-1 R-Precision, seed {r['seed']}, order {r['order_index']}")
        figures.append(name)
    p, man = result["protocol"], result["manifest"]
    reads = result["test_reads"]
    lines = [f"# L2-EMG lifelong benchmark: {result['benchmark']} (setting unseen, split {result['split']})", "",
             f"- protocol file `{result['config_path']}` sha256 `{result['config_sha256']}`"
             + (f"; changed by --set {result['overrides']}" if result["overrides"] else ""),
             f"- code `{man.get('code', '?')}` (commits {', '.join(sorted({x.get('commit') or man['commit'] for x in man['parts']}))})" + (" (uncommitted changes in some part)" if any(x.get("dirty") for x in man["parts"]) else ""),
             f"- models (weights fingerprints): {', '.join(f'{k} `{v}`' for k, v in man.get('models', {}).items()) or 'not recorded'}",
             f"- {len(p['seeds'])} training seeds {p['seeds']} x {p['orders']} scenario orders; ablations on "
             f"{p['ablation_orders'] or p['orders']} orders; {result['steps_per_scenario']} steps of batch {result['batch']} per scenario",
             f"- evaluation: {result['items']} items ({result['texts_per_window'] or 'all'} description(s) per test window); "
             f"intervals: AR, AWF, FR by {p['bootstrap_resamples']} bootstrap resamples of runs and test windows; AF, AD, AMM "
             "Student t over runs",
             f"- {'test' if result['split'] == 'test' else 'this'} split scored {reads} time(s) by this benchmark since the counter "
             "began (`test_reads.jsonl` beside the dataset cache; one line per invocation, parts included); this results "
             f"folder records {len(man['parts'])} part start(s), shards included"
             if result["split"] == "test" else "- validation split: the test counter is not touched",
             f"- {result['runs_finished']} of {result['runs_planned']} runs finished"
             + ("" if result["complete"] else " — PARTIAL: continue with --resume"), ""]
    lines += ["AF = mean FID, AR = mean top-1 R-Precision (%), AD = diversity, AMM = multimodality, AWF = emotion weighted "
              "F1 (%) over the scenarios after the last one; FR = forgetting rate (points of top-1 R-Precision).", "",
              markdown_table(result["table"]), ""]
    if result["differences"]:
        lines += [f"## Paired differences: {METHODS[p['compare_to']].label} minus each row (95 % interval)", ""]
        lines += reading(p["compare_to"], result["differences"], result["table"]) + ["", mdd_sentence(result["differences"]), ""]
    if result.get("ablations"):
        lines += ["## Ablations", "", markdown_table(result["ablations"]), ""]
    if result.get("transfer"):
        lines += transfer_markdown(result["transfer"], result["holdout"], p["compare_to"]) + [""]
    lines += ["## What each row is", ""] + [f"- `{k}`: {METHODS[k].why}" for k in list(result["table"]) + list(result.get("ablations", {}))]
    if result.get("reference"):
        lines += ["", "References on the same windows (no learning): "
                  + "; ".join(f"{k} AF {v['AF']:.3f}, AR {v['AR']:.2f}, AWF {v['AWF']:.2f}" for k, v in result["reference"].items())]
    lines += ["", "## Orders", ""] + [f"- order {i}: {' → '.join(o)}" for i, o in enumerate(result["scenario_orders"])]
    lines += ["", "## Matrices (first seed and order of each row; row = after training on, column = evaluated on)", ""]
    lines += [f"![{f}]({f})" for f in figures]
    atomic_write_text(out / "report.md", "\n".join(lines) + "\n")
    return str(out / "report.md")
