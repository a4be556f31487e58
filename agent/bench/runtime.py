"""`l2emg bench runtime`: the closed loop on Ray actors, measured in one run on one session: interactions/s
with 1, 2 and 4 partner streams (a batch serves one interaction per stream; stages overlap when
``pipeline.enabled``), the physics alone as the ceiling (the executor pool running already generated
motions), per-stage p50/p95 latency, interaction latency while the learner trains an expert vs idle (idle on the
known scenarios, and idle on the training window's own mix of known + new scenario requests), the
peak RSS of the driver plus every Ray worker, and a plot of throughput against streams."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from agent.episodes.config import bootstrap_request, load_episode
from agent.runtime.config import load_runtime_config
from agent.runtime.loop import stage_percentiles
from envs.config import config_dir

log = logging.getLogger(__name__)


def _serve(loop, pipeline, source, scenarios: list[str], n: int, size: int, phase: str, until=None) -> float:
    """Serve ``n`` interactions (or, with ``until``, while it holds) in batches of ``size``; returns the wall time."""
    from agent.runtime.pipeline import PipelinedLoop

    state = {"k": 0}

    def draw():
        k = state["k"]
        if (until is None and k >= n) or (until is not None and (not until() or k >= n)):
            return None
        state["k"] = k + size
        return [source.draw(scenarios[(k + j) % len(scenarios)]) for j in range(size)], phase

    t = time.perf_counter()
    if pipeline.enabled:
        PipelinedLoop(loop, pipeline.depth).run(draw)
    else:
        while (nxt := draw()) is not None:
            loop.run_batch(*nxt)
    return time.perf_counter() - t


def _p95_ratio(latency: dict, baseline: dict) -> dict:
    """p95 of ``latency`` over ``baseline``'s, for the interaction's total and wall latency."""
    return {k: round(latency[k]["p95"] / baseline[k]["p95"], 3) for k in ("total", "wall") if k in latency and k in baseline}


def p95_ratio_interval(rows: list[dict], baseline: list[dict], batch: int, level: float = 0.9, draws: int = 2000,
                       seed: int = 0) -> dict[str, list[float]]:
    """A bootstrap interval on the p95 ratio of ``rows`` over ``baseline`` (total and wall latency): the batches of
    each (``batch`` consecutive rows share one latency) drawn again with replacement. One run's p95 rests on its
    slowest few batches, so a ratio alone does not say how far another run of the same code may land."""
    out = {}
    for k in ("total", "wall"):
        rng = np.random.default_rng(seed)  # the same batches drawn for both latencies
        a, b = (np.array([r["latency_ms"][k] for r in rs[::batch] if k in r["latency_ms"]]) for rs in (rows, baseline))
        if len(a) < 2 or len(b) < 2:
            continue
        ratios = [np.percentile(rng.choice(a, len(a)), 95) / np.percentile(rng.choice(b, len(b)), 95) for _ in range(draws)]
        out[k] = [round(float(x), 3) for x in np.percentile(ratios, [50 * (1 - level), 50 * (1 + level)])]
    return out


def _physics_ceiling(backend, source, loop, scenarios: list[str], n: int) -> dict:
    """The executor pool alone on motions generated beforehand: the most interactions/s the loop could reach."""
    requests, t = loop.request([source.draw(scenarios[j % len(scenarios)]) for j in range(backend.pool_size)])
    motions = [g.motion for g in loop.generate(requests, t)] * (n // backend.pool_size + 1)
    motions = motions[:n]
    tic = time.perf_counter()
    for i in range(0, n, backend.pool_size):
        backend.execute(motions[i:i + backend.pool_size])
    wall = time.perf_counter() - tic
    return {"interactions_per_s": round(n / wall, 3), "motions": n}


def _plot(out: Path, result: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from envs.atomic import atomic_save_figure

    streams = sorted(int(s) for s in result["streams"])
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(streams, [result["streams"][str(s)]["interactions_per_s"] for s in streams], "o-", label="closed loop")
    ax.axhline(result["physics_only"]["interactions_per_s"], color="tab:red", ls="--", label="physics alone (ceiling)")
    ax.set_xlabel("partner streams")
    ax.set_ylabel("interactions / s")
    ax.set_xticks(streams)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_save_figure(fig, out / "throughput.png", dpi=100)
    plt.close(fig)
    return str(out / "throughput.png")


def bench_runtime(runs: str | Path = "runs", interactions: int = 24, streams: tuple[int, ...] = (1, 2, 4),
                  executors: int = 2, episode: str | None = None, overrides: dict[str, dict[str, str]] | None = None) -> dict:
    """``overrides``: ``--set`` values by config ("episode", "runtime"), named in the result."""
    import ray

    from agent.recipes.bootstrap import bootstrap_assets
    from agent.runtime.monitor import RSSMonitor
    from agent.runtime.run_dir import fresh_run_dir
    from agent.runtime.session import open_session
    from envs.config import apply_overrides
    from feedback.update import ExpertUpdatePolicy

    sets = overrides or {}
    ep = load_episode(episode or config_dir() / "episodes" / "demo.yaml", sets.get("episode"))
    runtime = apply_overrides(load_runtime_config(), sets.get("runtime", {}), "--set runtime.*")
    assets = bootstrap_assets(bootstrap_request(ep), runtime.bootstrap, runs, progress=False)
    known = list(assets.known_scenarios)
    new = next(s for ph in ep.phases for s in ph.scenarios if s not in known)
    out: dict = {"overrides": {f"{c}.{k}": v for c, kv in sets.items() for k, v in kv.items()}, "episode": ep.name,
                 "interactions_per_measurement": interactions, "executors": executors, "executor_mode": runtime.executor.mode,
                 "pipeline": {"enabled": runtime.pipeline.enabled, "depth": runtime.pipeline.depth},
                 "known": known, "new_scenario": new, "streams": {}}
    run_dir = Path(runs) / "bench-runtime"
    fresh_run_dir(run_dir)
    rows: list[dict] = []
    with RSSMonitor() as rss:
        t = time.perf_counter()
        # a policy that never triggers by itself: the learner is started explicitly below
        session = open_session(assets, runtime, run_dir, ExpertUpdatePolicy(10**9, 0.0, runtime.learner.max_old_drop),
                               dataset=ep.dataset, name="bench", backend="ray", executors=executors, seed=ep.seed,
                               self_generated=False, on_record=rows.append)
        out["startup_s"] = round(time.perf_counter() - t, 1)
        loop, source, b = session.loop, session.stimuli, session.backend
        try:
            loop.run_batch([source.draw(known[j % len(known)]) for j in range(executors)], "warm-up")
            for s in streams:
                rows.clear()
                wall = _serve(loop, runtime.pipeline, source, known, interactions, s, f"idle-{s}")
                out["streams"][str(s)] = {"interactions_per_s": round(len(rows) / wall, 3), "idle": stage_percentiles(rows)}
                log.info("bench runtime: %d stream(s): %.2f interactions/s", s, len(rows) / wall)
            out["physics_only"] = _physics_ceiling(b, source, loop, known, interactions)
            busiest = str(max(streams))
            out["fraction_of_physics_ceiling"] = round(out["streams"][busiest]["interactions_per_s"] /
                                                       out["physics_only"]["interactions_per_s"], 3)
            # The training window below serves the new scenario too (its requests get no expert yet, and their
            # motions can run longer), so idle is also measured on that same mix, over as many batches as the
            # window holds (it ends at 10 x interactions, and the learner takes longer): a ratio between different
            # mixes says nothing about the learner, and a p95 over fewer batches is a noisier one
            mix = known + [new]
            rows.clear()
            _serve(loop, runtime.pipeline, source, mix, 10 * interactions, max(streams), "idle-mix")
            idle_mix_rows = list(rows)
            out["idle_same_mix"] = {"scenarios": mix, "streams": max(streams), "interactions": len(rows),
                                    "latency": stage_percentiles(rows)}
            rows.clear()
            loop.start_learning(new)
            t = time.perf_counter()
            _serve(loop, runtime.pipeline, source, known + [new], 10 * interactions, max(streams), "training",
                   until=lambda: loop.state.learning is not None)
            training = [r for r in rows if r["learner_active"]]
            loop.drain(600.0)
            idle, same = out["streams"][busiest]["idle"], out["idle_same_mix"]["latency"]
            trained = stage_percentiles(training)
            out["while_training"] = {
                "streams": max(streams), "latency": trained, "interactions": len(training),
                "learner_seconds": round(time.perf_counter() - t, 1),
                "learner_outcome": loop.state.events[-1]["event"] if loop.state.events else None,
                "p95_ratio_training_vs_idle": _p95_ratio(trained, idle) if training else {},
                "p95_ratio_training_vs_idle_same_mix": _p95_ratio(trained, same) if training else {},
                "p95_ratio_same_mix_interval_90": p95_ratio_interval(training, idle_mix_rows, max(streams)) if training else {}}
        finally:
            session.close()
    out["peak_rss_mb"] = round(rss.peak_mb, 1)
    out["plot"] = _plot(run_dir, out)
    ray.shutdown()
    return out
