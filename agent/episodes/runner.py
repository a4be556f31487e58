"""`l2emg run EPISODE.yaml` and `l2emg demo`: validate the episode, bootstrap missing models, run the
closed loop phase by phase on Ray actors (or in-process), and write ``runs/<name>/``: metrics.jsonl,
events.jsonl, store.sqlite, experts/, summary.json, report.md with plots, and before/after MP4s."""
from __future__ import annotations

import logging
import time
from pathlib import Path

from tqdm import tqdm

from agent.episodes.config import EpisodeConfig, bootstrap_request, load_episode
from agent.runtime.config import RuntimeConfig, load_runtime_config
from agent.runtime.pipeline import SETTLE, PipelinedLoop
from agent.runtime.run_dir import RunFolderError

log = logging.getLogger(__name__)


def run_episode(episode: str | Path | EpisodeConfig, runs: str | Path = "runs", backend: str = "ray",
                runtime: RuntimeConfig | None = None, cache: str | None = None, progress: bool = True,
                render: bool | None = None, on_backend=None, overrides: dict[str, str] | None = None,
                resume: bool = False) -> dict:
    """``on_backend(backend, loop)`` is called after every batch (fault-injection tests use it). Progress
    lines go to this module's logger (the CLI shows them; ``--quiet`` hides them). ``overrides``: the
    ``--set`` values the caller applied, named in the summary and the report. ``resume``: go on from the
    store of ``runs/<name>/`` (a run whose driver died) instead of starting afresh.

    The run folder is locked for the whole run (a second run on it stops at once) and checked for write
    access and free space before anything starts; a failure to write while running stops the episode with
    a RunFolderError, everything committed so far intact (resume it once there is room)."""
    from agent.runtime.run_dir import RunLock, check_storage

    ep = episode if isinstance(episode, EpisodeConfig) else load_episode(episode)  # rejected before anything starts
    runtime = runtime or load_runtime_config()
    out = Path(runs) / ep.name
    check_storage(out, runtime.storage.min_free_mb)
    with RunLock(out):
        if resume and not (out / "store.sqlite").is_file():
            raise RunFolderError(f"{out}: nothing to resume (no store.sqlite); run it without --resume")
        return _run_locked(ep, Path(runs), out, backend, runtime, cache, progress, render, on_backend, overrides, resume)


def _run_locked(ep: EpisodeConfig, runs: Path, out: Path, backend: str, runtime: RuntimeConfig, cache, progress: bool,
                render, on_backend, overrides, resume: bool) -> dict:
    from agent.recipes.bootstrap import bootstrap_assets
    from agent.runtime.monitor import RSSMonitor
    from agent.episodes.serving import PhaseDraws, RunLogs
    from agent.runtime.run_dir import fresh_run_dir, storage_fault
    from agent.runtime.session import open_session
    from feedback.update import ExpertUpdatePolicy

    t0 = time.perf_counter()
    assets = bootstrap_assets(bootstrap_request(ep), runtime.bootstrap, runs, cache, progress)
    t_boot = time.perf_counter() - t0
    if not resume:
        fresh_run_dir(out)
    rows: list[dict] = []
    logs = RunLogs(out, rows)
    with RSSMonitor() as rss:
        log.info("episode %s: %s the %s runtime with %d executor(s)", ep.name, "resuming" if resume else "starting", backend,
                 ep.executors)
        u = ep.update
        session = open_session(assets, runtime, out, ExpertUpdatePolicy(u.failure_threshold, u.min_success_gain, runtime.learner.max_old_drop),
                               dataset=ep.dataset, name=ep.name, backend=backend, executors=ep.executors, seed=ep.seed,
                               self_generated=u.self_generated, on_record=logs.record, on_event=logs.event)
        t_start = time.perf_counter() - t0
        b, loop, source = session.backend, session.loop, session.stimuli
        try:
            done, replayed = logs.start(loop, source, resume)
            draws = PhaseDraws(ep, loop, source, ep.streams or b.pool_size, done)
            draws.served = len(rows)  # a resumed run: what the store held
            bar = tqdm(total=max(sum(ph.interactions for ph in ep.phases), draws.served), initial=draws.served,
                       unit="interaction", disable=not progress, mininterval=1.0)

            def on_rows(got: list[dict]) -> None:
                if draws.served + len(got) > bar.total:  # serving on while the learner trains
                    bar.total = draws.served + len(got)
                draws.served += len(got)
                bar.set_description(got[0]["phase"])
                bar.update(len(got))
                bar.set_postfix(success=f"{sum(r['success'] for r in got)}/{len(got)}", learner=loop.state.learning["scenario"]
                                if loop.state.learning else "-")
                if on_backend is not None:
                    on_backend(b, loop)

            if runtime.pipeline.enabled:
                PipelinedLoop(loop, runtime.pipeline.depth).run(draws, on_rows)
            else:
                while (nxt := draws()) is not None:
                    if nxt is not SETTLE:  # one batch at a time: always settled
                        on_rows(loop.run_batch(*nxt))
            bar.close()
            loop.drain(0.0)
            loop.abandon()
            _replay(loop, rows, ep.replay, progress, assets.generator, replayed)
            counts = b.store.counts()
            timeline = b.store.expert_timeline()
        except Exception as exc:
            why = storage_fault(exc)
            if why is None:
                raise
            raise RunFolderError(f"{out}: writing failed ({why}); the episode stopped, the store keeps the "
                                 f"{_committed(b)} interactions committed before it; make room and continue with --resume") from None
        finally:
            session.close()
            logs.close()
    t_loop = time.perf_counter() - t0 - t_start
    from agent.episodes.report import summarise, write_report

    summary = summarise(ep, rows, loop.state.events, timeline)
    summary.update(store=counts, seconds={"bootstrap": round(t_boot, 1), "startup": round(t_start - t_boot, 1),
                                          "episode": round(t_loop, 1)}, peak_rss_mb=round(rss.peak_mb, 1), backend=backend,
                   overrides=dict(overrides or {}), resumed=logs.resumed, executor_mode=runtime.executor.mode)
    if render if render is not None else ep.render_examples:
        summary["videos"] = _render_before_after(rows, assets, runtime, out)
    summary["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    write_report(out, ep, rows, loop.state.events, summary)
    log.info("episode %s finished in %s s; report: %s", ep.name, summary["seconds"]["total"], out / "report.md")
    return summary


def _committed(backend) -> str:
    try:
        return str(backend.store.counts()["verdicts"])
    except Exception:  # the store cannot even be read: say so rather than guess
        return "(unreadable count of)"


def _replay(loop, rows: list[dict], per_scenario: int, progress: bool, first_checkpoint: str,
            replayed: set[tuple[str, int]] = frozenset()) -> None:
    """Paired comparisons on identical requests (same instruction and intended emotion), so a difference is
    the expert's doing, not a different draw of partners: the last ``per_scenario`` requests of every
    scenario from before the first expert landed, re-served with the generator as it is now (phase
    ``replay``); and the first ``per_scenario`` after it, re-served with the generator from before it
    (``replay-previous``)."""
    landed = [e["step"] for e in loop.state.events if e["event"] == "expert_published"]
    if not landed or per_scenario <= 0:
        return
    served = [r for r in rows if r.get("replay_of") is None]
    before, after = [], []
    for sc in dict.fromkeys(r["scenario"] for r in served):
        before += [r for r in served if r["scenario"] == sc and r["step"] < landed[0]][-per_scenario:]
        after += [r for r in served if r["scenario"] == sc and r["step"] >= landed[0]][:per_scenario]
    before = [r for r in before if ("replay", r["step"]) not in replayed]  # a resumed run serves only what is left
    after = [r for r in after if ("replay-previous", r["step"]) not in replayed]
    n = loop.backend.pool_size
    for i in tqdm(range(0, len(before), n), desc="paired replay", unit="batch", disable=not progress, mininterval=1.0):
        loop.replay(before[i:i + n])
    with loop.serving(first_checkpoint):
        for i in tqdm(range(0, len(after), n), desc="paired replay, previous generator", unit="batch", disable=not progress,
                      mininterval=1.0):
            loop.replay(after[i:i + n], phase="replay-previous")


def _render_before_after(rows: list[dict], assets, runtime: RuntimeConfig, out: Path) -> dict:
    """One motion of the new scenario before its expert landed and one after, re-executed and rendered."""
    from agent.runtime.services import ExecutorService
    from envs.motion.features import decode
    from feedback.store import ExperienceStore
    from policies.tokenizer import VQTokenizer

    rows = [r for r in rows if r.get("replay_of") is None]
    new = [r for r in rows if not r["covered"]]
    if not new:
        return {}
    before = new[0]
    sc = before["scenario"]
    after = next((r for r in rows if r["scenario"] == sc and r["covered"] and r["success"]), None) or \
        next((r for r in rows if r["scenario"] == sc and r["covered"]), None)
    store = ExperienceStore(out / "store.sqlite")
    tok = VQTokenizer.load(assets.tokenizer)
    executor = ExecutorService(runtime.executor.mode, runtime.executor.lookahead)
    videos = {}
    for label, r in (("before", before), ("after", after)):
        if r is None:
            continue
        codes = store.codes(r["id"])
        if not codes:
            continue
        motion = decode(tok.decode_features(codes), fps=20.0)
        res = executor.execute(motion).result
        if res.trajectory is None:  # refused before simulating (a reference no body could follow) or failed at once
            log.info("  %s the %s expert: not rendered, nothing was simulated (%s)", label, sc, res.reason)
            continue
        try:
            from envs.sim_render import render_execution

            path = render_execution(res, out / f"{sc}_{label}_expert.mp4", reference=motion, size=(320, 240))
            videos[label] = {"path": str(path), "step": r["step"], "text": r["text"], "success": r["success"]}
            log.info("  rendered %s the %s expert (step %s) -> %s", label, sc, r["step"], path)
        except Exception as exc:  # no OSMesa/EGL, ffmpeg trouble: the report is written all the same
            log.warning("  rendering unavailable (%s: %s)", type(exc).__name__, exc)
            break
    store.close()
    return videos
