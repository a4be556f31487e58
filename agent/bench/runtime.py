"""`l2emg bench runtime`: the closed loop on Ray actors, measured in one run: interactions/s with 1 and
2 executors, p50/p95 latency per stage, interaction latency while the learner trains an expert vs
without, and the peak RSS of the driver plus every Ray worker."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from agent.episodes.config import bootstrap_request, load_episode
from agent.runtime.config import load_runtime_config
from agent.runtime.loop import stage_percentiles
from envs.config import config_dir

log = logging.getLogger(__name__)


def bench_runtime(runs: str | Path = "runs", interactions: int = 24, executors: tuple[int, ...] = (1, 2),
                  episode: str | None = None, overrides: dict[str, dict[str, str]] | None = None) -> dict:
    """``overrides``: ``--set`` values by config ("episode", "runtime"), named in the result."""
    from agent.recipes.bootstrap import bootstrap_assets
    from agent.runtime.monitor import RSSMonitor
    from agent.runtime.run_dir import fresh_run_dir
    from agent.runtime.session import open_session
    from feedback.update import ExpertUpdatePolicy

    from envs.config import apply_overrides

    sets = overrides or {}
    ep = load_episode(episode or config_dir() / "episodes" / "demo.yaml", sets.get("episode"))
    runtime = apply_overrides(load_runtime_config(), sets.get("runtime", {}), "--set runtime.*")
    assets = bootstrap_assets(bootstrap_request(ep), runtime.bootstrap, runs, progress=False)
    known = list(assets.known_scenarios)
    new = next(s for ph in ep.phases for s in ph.scenarios if s not in known)
    out: dict = {"overrides": {f"{c}.{k}": v for c, kv in sets.items() for k, v in kv.items()}, "episode": ep.name, "interactions_per_measurement": interactions, "known": known, "new_scenario": new,
                 "executors": {}}
    with RSSMonitor() as rss:
        for n in executors:
            run_dir = Path(runs) / "bench-runtime" / f"executors-{n}"
            fresh_run_dir(run_dir)
            log.info("bench runtime: %d executor(s): starting actors", n)
            t = time.perf_counter()
            rows: list[dict] = []
            # a policy that never triggers by itself: the learner is started explicitly below
            session = open_session(assets, runtime, run_dir, ExpertUpdatePolicy(10**9, 0.0, runtime.learner.max_old_drop),
                                   dataset=ep.dataset, name="bench", backend="ray", executors=n, seed=ep.seed,
                                   self_generated=False, on_record=rows.append)
            startup = time.perf_counter() - t
            loop, source = session.loop, session.stimuli
            draw = lambda k, scs: [source.draw(scs[(k + j) % len(scs)]) for j in range(n)]  # noqa: E731
            loop.run_batch(draw(0, known), "warm-up")
            rows.clear()
            t = time.perf_counter()
            for k in range(0, interactions, n):
                loop.run_batch(draw(k, known), "idle")
            wall = time.perf_counter() - t
            idle = list(rows)
            res = {"startup_s": round(startup, 1), "interactions_per_s": round(len(idle) / wall, 3),
                   "idle": stage_percentiles(idle)}
            if n == max(executors):
                rows.clear()
                loop.start_learning(new)
                k, t = 0, time.perf_counter()
                while loop.state.learning is not None and k < 10 * interactions:
                    loop.run_batch(draw(k, known + [new]), "training")
                    k += n
                training = [r for r in rows if r["learner_active"]]
                loop.drain(600.0)
                res.update(training=stage_percentiles(training), interactions_while_training=len(training),
                           learner_seconds=round(time.perf_counter() - t, 1),
                           learner_outcome=loop.state.events[-1]["event"] if loop.state.events else None,
                           p95_ratio_training_vs_idle=round(stage_percentiles(training)["total"]["p95"] /
                                                            res["idle"]["total"]["p95"], 3) if training else None)
            session.close()
            out["executors"][str(n)] = res
            log.info("bench runtime: %d executor(s): %s interactions/s", n, res["interactions_per_s"])
    out["peak_rss_mb"] = round(rss.peak_mb, 1)
    import ray

    ray.shutdown()
    return out
