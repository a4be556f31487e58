"""`l2emg run EPISODE.yaml` and `l2emg demo`: validate the episode, bootstrap missing models, run the
closed loop phase by phase on Ray actors (or in-process), and write ``runs/<name>/``: metrics.jsonl,
events.jsonl, store.sqlite, experts/, summary.json, report.md with plots, and before/after MP4s."""
from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

from tqdm import tqdm

from agent.episode import EpisodeConfig, load_episode
from agent.runtime_config import RuntimeConfig, load_runtime_config

log = logging.getLogger(__name__)


def _plain(x):
    """numpy scalars in JSON lines."""
    return x.item() if hasattr(x, "item") else str(x)


def _fresh_run_dir(out: Path) -> None:
    """An episode starts from its bootstrap generator: earlier outputs of the same name are removed."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "metrics.jsonl", "events.jsonl", "generator.json",
                 "summary.json", "report.md"):
        (out / name).unlink(missing_ok=True)
    shutil.rmtree(out / "experts", ignore_errors=True)


def make_backend(kind: str, config: RuntimeConfig, assets, out: Path, executors: int):
    store, pointer = str(out / "store.sqlite"), str(out / "generator.json")
    if kind == "ray":
        from agent.actors import RayBackend

        return RayBackend(config, assets, store, pointer, executors)
    if kind != "local":
        raise ValueError(f"backend must be ray or local, got {kind!r}")
    from agent.local_backend import LocalBackend
    from agent.services import ExecutorService, ExpertLearner, FeedbackService, GeneratorService, PerceptionService

    return LocalBackend(PerceptionService(assets.perception), GeneratorService(assets.generator, assets.tokenizer, pointer=pointer),
                        [ExecutorService(config.executor.mode) for _ in range(executors)],
                        FeedbackService(store, assets.evaluator, assets.emotion, assets.dataset_dir, config.judges),
                        lambda: ExpertLearner(assets.dataset_dir, assets.tokenizer, assets.evaluator, assets.emotion,
                                              config.learner, config.judges))


def run_episode(episode: str | Path | EpisodeConfig, runs: str | Path = "runs", backend: str = "ray",
                runtime: RuntimeConfig | None = None, cache: str | None = None, progress: bool = True,
                say=print, render: bool | None = None, on_backend=None) -> dict:
    """``on_backend(backend, loop)`` is called after every batch (fault-injection tests use it)."""
    from agent.actors import RSSMonitor
    from agent.bootstrap import bootstrap_assets
    from agent.empathy import EmpathyPolicy
    from agent.loop import InteractionLoop
    from agent.stimuli import StimulusSource
    from feedback.update import ExpertUpdatePolicy

    ep = episode if isinstance(episode, EpisodeConfig) else load_episode(episode)  # rejected before anything starts
    runtime = runtime or load_runtime_config()
    t0 = time.perf_counter()
    assets = bootstrap_assets(ep, runtime.bootstrap, runs, cache, progress, say)
    t_boot = time.perf_counter() - t0
    out = Path(runs) / ep.name
    _fresh_run_dir(out)
    metrics = (out / "metrics.jsonl").open("a")
    events = (out / "events.jsonl").open("a")
    rows: list[dict] = []

    def on_record(row: dict) -> None:
        rows.append(row)
        metrics.write(json.dumps(row, default=_plain) + "\n")
        metrics.flush()

    def on_event(e: dict) -> None:
        events.write(json.dumps(e, default=_plain) + "\n")
        events.flush()
        say(f"  [{e['t_s']:7.1f} s, step {e['step']}] {e['event']}: " + ", ".join(f"{k}={v}" for k, v in e.items()
                                                                                   if k in ("scenario", "why", "error", "seconds")))

    with RSSMonitor() as rss:
        say(f"episode {ep.name}: starting the {backend} runtime with {ep.executors} executor(s)")
        b = make_backend(backend, runtime, assets, out, ep.executors)
        t_start = time.perf_counter() - t0
        u = ep.update
        loop = InteractionLoop(b, EmpathyPolicy(ep.dataset, seed=ep.seed), ExpertUpdatePolicy(u.failure_threshold, u.min_success_gain, runtime.learner.max_old_drop),
                               ep.name, out / "experts", assets.generator, u.self_generated, ep.seed, on_record, on_event)
        source = StimulusSource(assets.dataset_dir, ep.seed)
        try:
            for ph in ep.phases:
                n_max = ph.max_interactions or ph.interactions
                bar = tqdm(total=ph.interactions, desc=ph.name, unit="interaction", disable=not progress, mininterval=1.0)
                k = 0
                while k < n_max:
                    if k >= ph.interactions and not (ph.until_learner_done and loop.state.learning is not None):
                        break
                    n = min(b.pool_size, n_max - k)
                    batch = [source.draw(ph.scenarios[(k + j) % len(ph.scenarios)], ph.utterances or None) for j in range(n)]
                    got = loop.run_batch(batch, ph.name)
                    k += n
                    if k > bar.total:  # serving on while the learner trains
                        bar.total = k
                    bar.update(n)
                    bar.set_postfix(success=f"{sum(r['success'] for r in got)}/{n}", learner=loop.state.learning["scenario"]
                                    if loop.state.learning else "-")
                    if on_backend is not None:
                        on_backend(b, loop)
                bar.close()
            loop.drain(0.0)
            loop.abandon()
            _replay(loop, rows, ep.replay, progress, assets.generator)
            counts = b.store("counts")
            timeline = b.store("expert_timeline")
        finally:
            b.close()
            metrics.close()
            events.close()
    t_loop = time.perf_counter() - t0 - t_start
    from agent.episode_report import summarise, write_report

    summary = summarise(ep, rows, loop.state.events, timeline)
    summary.update(store=counts, seconds={"bootstrap": round(t_boot, 1), "startup": round(t_start - t_boot, 1),
                                          "episode": round(t_loop, 1)}, peak_rss_mb=round(rss.peak_mb, 1), backend=backend)
    if render if render is not None else ep.render_examples:
        summary["videos"] = _render_before_after(rows, assets, runtime, out, say)
    summary["seconds"]["total"] = round(time.perf_counter() - t0, 1)
    write_report(out, ep, rows, loop.state.events, summary)
    say(f"episode {ep.name} finished in {summary['seconds']['total']} s; report: {out / 'report.md'}")
    return summary


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


def _render_before_after(rows: list[dict], assets, runtime: RuntimeConfig, out: Path, say) -> dict:
    """One motion of the new scenario before its expert landed and one after, re-executed and rendered."""
    import sqlite3

    from envs.motion.features import decode
    from agent.services import ExecutorService
    from policies.tokenizer import VQTokenizer

    rows = [r for r in rows if r.get("replay_of") is None]
    new = [r for r in rows if not r["covered"]]
    if not new:
        return {}
    before = new[0]
    sc = before["scenario"]
    after = next((r for r in rows if r["scenario"] == sc and r["covered"] and r["success"]), None) or \
        next((r for r in rows if r["scenario"] == sc and r["covered"]), None)
    db = sqlite3.connect(str(out / "store.sqlite"))
    tok = VQTokenizer.load(assets.tokenizer)
    executor = ExecutorService(runtime.executor.mode)
    videos = {}
    for label, r in (("before", before), ("after", after)):
        if r is None:
            continue
        codes = db.execute("SELECT codes FROM interactions WHERE id = ?", (r["id"],)).fetchone()[0]
        if not codes:
            continue
        motion = decode(tok.decode_features(json.loads(codes)), fps=20.0)
        res = executor.execute(motion)["result"]
        if res.trajectory is None:  # refused before simulating (a reference no body could follow) or failed at once
            say(f"  {label} the {sc} expert: not rendered, nothing was simulated ({res.reason})")
            continue
        try:
            from envs.sim_render import render_execution

            path = render_execution(res, out / f"{sc}_{label}_expert.mp4", reference=motion, size=(320, 240))
            videos[label] = {"path": str(path), "step": r["step"], "text": r["text"], "success": r["success"]}
            say(f"  rendered {label} the {sc} expert (step {r['step']}) -> {path}")
        except Exception as exc:  # no OSMesa/EGL, ffmpeg trouble: the report is written all the same
            say(f"  rendering unavailable ({type(exc).__name__}: {exc})")
            break
    db.close()
    return videos
