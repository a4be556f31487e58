"""`l2emg sweep EPISODE.yaml --seeds 0-7`: the same episode over many seeds at once on whatever Ray cluster
there is (one task per seed, each episode in one process on the local backend, each in its own runs
folder ``runs/<name>-seed<k>/``), then one aggregate report: the targets met per seed, the mean and 95 %
interval of every reading over the seeds, and a plot."""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np

from agent.episodes.config import EpisodeConfig, bootstrap_request
from agent.runtime.config import RuntimeConfig
from envs.atomic import atomic_save_figure, atomic_write_text

log = logging.getLogger(__name__)


def parse_seeds(text: str) -> list[int]:
    """``0-7`` or ``0,2,5`` or ``3``."""
    try:
        if "-" in text:
            lo, hi = (int(x) for x in text.split("-", 1))
            seeds = list(range(lo, hi + 1))
        else:
            seeds = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"--seeds {text!r}: expected A-B or a comma-separated list of integers") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds {text!r}: no seeds, or a seed twice")
    return seeds


def _one(ep: EpisodeConfig, seed: int, runs: str, runtime: RuntimeConfig, cache: str | None, overrides: dict) -> dict:
    """One seed's episode (runs inside a Ray task): its summary, reduced to what the aggregate reads."""
    import dataclasses

    from agent.episodes.runner import run_episode

    run = dataclasses.replace(ep, name=f"{ep.name}-seed{seed}", seed=seed)
    s = run_episode(run, runs, "local", runtime, cache, progress=False, render=False,
                    overrides={**overrides, "episode.seed": str(seed)})
    return {"seed": seed, "run": str(Path(runs) / run.name), "targets": s["targets"], "scenarios": s["scenarios"],
            "paired": s.get("paired", {}), "paired_after": s.get("paired_after", {}), "interactions": s["interactions"],
            "seconds": s["seconds"]["total"]}


def run_sweep(ep: EpisodeConfig, seeds: list[int], runs: str | Path = "runs", runtime: RuntimeConfig | None = None,
              cache: str | None = None, overrides: dict[str, str] | None = None, progress: bool = True) -> dict:
    import ray
    from tqdm import tqdm

    from agent.recipes.bootstrap import bootstrap_assets
    from agent.runtime.actors import init_ray
    from agent.runtime.config import load_runtime_config

    runtime = runtime or load_runtime_config()
    t0 = time.perf_counter()
    bootstrap_assets(bootstrap_request(ep), runtime.bootstrap, runs, cache, progress)  # once, before the seeds share it
    init_ray(runtime)
    task = ray.remote(num_cpus=1, max_retries=0)(_one)
    log.info("sweep %s: %d seeds on a cluster of %s CPU", ep.name, len(seeds), ray.cluster_resources().get("CPU"))
    pending = {task.remote(ep, k, str(runs), runtime, cache, dict(overrides or {})): k for k in seeds}
    results, failed = [], {}
    with tqdm(total=len(seeds), desc=f"sweep {ep.name}", unit="seed", disable=not progress) as bar:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            seed = pending.pop(done[0])
            try:
                results.append(ray.get(done[0]))
            except Exception as exc:  # one seed's failure is reported, the others still count
                failed[seed] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[-1][:300]}"
            bar.update(1)
    results.sort(key=lambda r: r["seed"])
    out = Path(runs) / f"sweep-{ep.name}"
    summary = aggregate(ep.name, results, failed)
    summary.update(overrides=dict(overrides or {}), seconds=round(time.perf_counter() - t0, 1),
                   cluster_cpus=ray.cluster_resources().get("CPU"))
    write_sweep_report(out, summary)
    return summary


def interval(values: list[float]) -> dict:
    """Mean and 95 % t-interval over seeds (None when fewer than two)."""
    from scipy import stats

    xs = [v for v in values if v is not None and math.isfinite(v)]
    if not xs:
        return {"n": 0, "mean": None, "ci95": None}
    mean = float(np.mean(xs))
    if len(xs) < 2:
        return {"n": 1, "mean": round(mean, 2), "ci95": None}
    half = float(stats.t.ppf(0.975, len(xs) - 1) * np.std(xs, ddof=1) / math.sqrt(len(xs)))
    return {"n": len(xs), "mean": round(mean, 2), "ci95": [round(mean - half, 2), round(mean + half, 2)]}


def aggregate(name: str, results: list[dict], failed: dict[int, str]) -> dict:
    """Per target: met per seed, and each of its readings over the seeds; per scenario: success after."""
    targets: dict[str, dict] = {}
    for r in results:
        for t in r["targets"]:
            entry = targets.setdefault(t["target"], {"met": {}, "loop": [], "paired": {}})
            entry["met"][r["seed"]] = t["met"]
            entry["loop"].append(t.get("loop"))
            for k, p in enumerate(t.get("paired") or []):
                entry["paired"].setdefault(k, []).append(p)
    readings = {t: {"met_in": sum(v["met"].values()), "seeds": len(v["met"]), "met": v["met"], "loop": interval(v["loop"]),
                    **{f"paired_{k}": interval(xs) for k, xs in v["paired"].items()}} for t, v in targets.items()}
    scenarios = sorted({sc for r in results for sc in r["scenarios"]})
    after = {sc: interval([r["scenarios"][sc]["after"].get("success") for r in results if sc in r["scenarios"]
                           and r["scenarios"][sc]["after"].get("n")]) for sc in scenarios}
    return {"episode": name, "seeds": [r["seed"] for r in results], "failed": failed, "targets": readings,
            "success_after": after, "runs": {r["seed"]: r["run"] for r in results},
            "all_targets_met": {r["seed"]: all(t["met"] for t in r["targets"]) for r in results}}


def write_sweep_report(out: Path, summary: dict) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2))
    fmt = lambda i: "-" if i["mean"] is None else f"{i['mean']:+.1f}" + (f" [{i['ci95'][0]:+.1f}, {i['ci95'][1]:+.1f}]" if i["ci95"] else "")  # noqa: E731
    seeds = summary["seeds"]
    L = [f"# Sweep of `{summary['episode']}` over seeds {', '.join(map(str, seeds))}", "",
         f"{len(seeds)} episodes finished, {len(summary['failed'])} failed, in {summary.get('seconds')} s on a Ray cluster of "
         f"{summary.get('cluster_cpus')} CPU; each seed's own report is in its runs folder. Readings are changes in success "
         "points (the episode reports explain them); mean over seeds with a 95 % t-interval.", ""]
    if summary.get("overrides"):
        L += [f"Overrides (`--set`): {', '.join(f'`{k}={v}`' for k, v in summary['overrides'].items())}.", ""]
    L += ["| target | met in | " + " | ".join(f"seed {s}" for s in seeds) + " | loop | paired (first) | paired (second) |",
          "|---|---|" + "---|" * len(seeds) + "---|---|---|"]
    for t, v in summary["targets"].items():
        marks = " | ".join("yes" if v["met"].get(s) else "**no**" for s in seeds)
        L.append(f"| {t} | {v['met_in']}/{v['seeds']} | {marks} | {fmt(v['loop'])} | {fmt(v.get('paired_0', {'mean': None}))} | "
                 f"{fmt(v.get('paired_1', {'mean': None}))} |")
    L += ["", "Success (%) after the landing, per scenario: " + "; ".join(
        f"{sc} {i['mean']}" + (f" [{i['ci95'][0]}, {i['ci95'][1]}]" if i["ci95"] else "") for sc, i in summary["success_after"].items()), ""]
    for seed, why in summary["failed"].items():
        L.append(f"- seed {seed} failed: {why}")
    L.append("![readings per seed](sweep.png)")
    _plot(out, summary)
    atomic_write_text(out / "report.md", "\n".join(L) + "\n")
    return out / "report.md"


def _plot(out: Path, summary: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(t, v) for t, v in summary["targets"].items() if v["loop"]["mean"] is not None]
    fig, ax = plt.subplots(figsize=(7, 0.6 * max(2, len(rows)) + 1.2))
    for y, (t, v) in enumerate(rows):
        i = v["loop"]
        if i["ci95"]:
            ax.plot(i["ci95"], [y, y], color="tab:blue", lw=3, alpha=0.4)
        ax.plot([i["mean"]], [y], "o", color="tab:blue")
    ax.set_yticks(range(len(rows)), [t for t, _ in rows], fontsize=8)
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("change in success points (loop reading): mean and 95 % interval over seeds")
    fig.tight_layout()
    atomic_save_figure(fig, out / "sweep.png", dpi=100)
    plt.close(fig)
