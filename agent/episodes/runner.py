"""`l2emg run EPISODE.yaml` and `l2emg demo`: validate the episode, bootstrap missing models, run the
closed loop phase by phase on Ray actors (or in-process), and write ``runs/<name>/``: metrics.jsonl,
events.jsonl, store.sqlite, experts/, summary.json, report.md with plots, and before/after MP4s."""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from tqdm import tqdm

from agent.episodes.config import EpisodeConfig, bootstrap_request, load_episode
from agent.runtime.config import RuntimeConfig, load_runtime_config
from agent.runtime.pipeline import SETTLE, PipelinedLoop

log = logging.getLogger(__name__)


def _plain(x):
    """numpy scalars in JSON lines."""
    return x.item() if hasattr(x, "item") else str(x)


def run_episode(episode: str | Path | EpisodeConfig, runs: str | Path = "runs", backend: str = "ray",
                runtime: RuntimeConfig | None = None, cache: str | None = None, progress: bool = True,
                render: bool | None = None, on_backend=None, overrides: dict[str, str] | None = None) -> dict:
    """``on_backend(backend, loop)`` is called after every batch (fault-injection tests use it). Progress
    lines go to this module's logger (the CLI shows them; ``--quiet`` hides them). ``overrides``: the
    ``--set`` values the caller applied, named in the summary and the report."""
    from agent.recipes.bootstrap import bootstrap_assets
    from agent.runtime.monitor import RSSMonitor
    from agent.runtime.session import fresh_run_dir, open_session
    from feedback.update import ExpertUpdatePolicy

    ep = episode if isinstance(episode, EpisodeConfig) else load_episode(episode)  # rejected before anything starts
    runtime = runtime or load_runtime_config()
    t0 = time.perf_counter()
    assets = bootstrap_assets(bootstrap_request(ep), runtime.bootstrap, runs, cache, progress)
    t_boot = time.perf_counter() - t0
    out = Path(runs) / ep.name
    fresh_run_dir(out)
    metrics = (out / "metrics.jsonl").open("a")  # append-only logs, flushed line by line
    events = (out / "events.jsonl").open("a")
    rows: list[dict] = []

    def on_record(row: dict) -> None:
        rows.append(row)
        metrics.write(json.dumps(row, default=_plain) + "\n")
        metrics.flush()

    def on_event(e: dict) -> None:
        events.write(json.dumps(e, default=_plain) + "\n")
        events.flush()
        log.info("  [%7.1f s, step %s] %s: %s", e["t_s"], e["step"], e["event"],
                 ", ".join(f"{k}={v}" for k, v in e.items() if k in ("scenario", "why", "error", "seconds")))

    with RSSMonitor() as rss:
        log.info("episode %s: starting the %s runtime with %d executor(s)", ep.name, backend, ep.executors)
        u = ep.update
        session = open_session(assets, runtime, out, ExpertUpdatePolicy(u.failure_threshold, u.min_success_gain, runtime.learner.max_old_drop),
                               dataset=ep.dataset, name=ep.name, backend=backend, executors=ep.executors, seed=ep.seed,
                               self_generated=u.self_generated, on_record=on_record, on_event=on_event)
        t_start = time.perf_counter() - t0
        b, loop, source = session.backend, session.loop, session.stimuli
        try:
            draws = PhaseDraws(ep, loop, source, ep.streams or b.pool_size)
            bar = tqdm(total=sum(ph.interactions for ph in ep.phases), unit="interaction", disable=not progress, mininterval=1.0)

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
            _replay(loop, rows, ep.replay, progress, assets.generator)
            counts = b.store.counts()
            timeline = b.store.expert_timeline()
        finally:
            session.close()
            metrics.close()
            events.close()
    t_loop = time.perf_counter() - t0 - t_start
    from agent.episodes.report import summarise, write_report

    summary = summarise(ep, rows, loop.state.events, timeline)
    summary.update(store=counts, seconds={"bootstrap": round(t_boot, 1), "startup": round(t_start - t_boot, 1),
                                          "episode": round(t_loop, 1)}, peak_rss_mb=round(rss.peak_mb, 1), backend=backend,
                   overrides=dict(overrides or {}))
    if render if render is not None else ep.render_examples:
        summary["videos"] = _render_before_after(rows, assets, runtime, out)
    summary["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    write_report(out, ep, rows, loop.state.events, summary)
    log.info("episode %s finished in %s s; report: %s", ep.name, summary["seconds"]["total"], out / "report.md")
    return summary


class PhaseDraws:
    """The episode's batches in order, drawn on demand (``draws()`` -> (stimuli, phase) or None at the end): a
    phase serves its ``interactions``, and more while a learner trains when ``until_learner_done``, up to its
    ``max_interactions``; ``size`` partners a batch. Whether a learner trains is read on judged state: when
    a phase's own interactions are drawn, ``draws()`` returns ``SETTLE`` once, so that a pipelined loop judges
    every batch in flight (whose verdicts may start the learner) before the phase is ended."""

    def __init__(self, ep: EpisodeConfig, loop, source, size: int) -> None:
        self.loop, self.source, self.size = loop, source, size
        self.phases = iter(ep.phases)
        self.phase = None
        self.k = self.n_max = 0
        self.served = 0  # rows judged so far (the caller counts)

    def __call__(self):
        while True:
            if self.phase is None:
                self.phase = next(self.phases, None)
                if self.phase is None:
                    return None
                self.k, self.n_max = 0, self.phase.max_interactions or self.phase.interactions
                self.settled = False
            ph = self.phase
            if ph.until_learner_done and self.k >= ph.interactions and not self.settled:
                self.settled = True
                return SETTLE
            more = ph.until_learner_done and self.loop.state.learning is not None
            if self.k < self.n_max and (self.k < ph.interactions or more):
                n = min(self.size, self.n_max - self.k)
                batch = [self.source.draw(ph.scenarios[(self.k + j) % len(ph.scenarios)], ph.utterances or None) for j in range(n)]
                self.k += n
                return batch, ph.name
            self.phase = None


def _replay(loop, rows: list[dict], per_scenario: int, progress: bool, first_checkpoint: str) -> None:
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
    executor = ExecutorService(runtime.executor.mode)
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
