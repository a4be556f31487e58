"""``run --resume``: the loop's state rebuilt from the store of a run whose driver died (DESIGN §7). The store
is the truth: every interaction it holds was judged and acknowledged, every expert status came with its
event in one transaction. A training job that was running when the driver died is recorded failed (the
update policy may train that scenario again); the generator serves the newest published expert whose
checkpoint still loads."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.runtime.loop import InteractionLoop, metrics_row
from agent.runtime.run_dir import RunFolderError
from envs.errors import L2EMGError

log = logging.getLogger(__name__)
TERMINAL = ("expert_published", "expert_rolled_back", "learner_failed", "learner_abandoned")


@dataclass
class Recovered:
    rows: list[dict]  # every stored interaction as its metrics row, by step
    done: dict[int, int] = field(default_factory=dict)  # phase index -> fresh interactions served in it
    replayed: set[tuple[str, int]] = field(default_factory=set)  # (phase, step) of the replays already served
    random_state: dict | None = None  # source and empathy random state after the last fresh interaction
    served_again: str | None = None  # the checkpoint the generator serves now


def recover(loop: InteractionLoop, logged: dict[int, dict] | None = None) -> Recovered:
    """Bring ``loop`` (just opened on the run's store) to where the store says the episode was. ``logged``:
    metrics.jsonl rows by step, preferred to rows rebuilt from the store (they also hold the judge's time)."""
    store, episode = loop.backend.store, loop.episode
    records = store.interactions(episode)
    steps = [r["step"] for r in records]
    if steps != list(range(len(steps))):
        raise RunFolderError(f"{episode}: the store's steps are not 0..{len(steps) - 1} without gaps; cannot resume")
    if any(r["success"] is None for r in records):
        raise RunFolderError(f"{episode}: an interaction without its verdict in the store; cannot resume")
    if any(r["context"] is None for r in records):
        raise RunFolderError(f"{episode}: this store was written by an older version (no loop context); cannot resume")
    logged = logged or {}
    rows = [logged.get(r["step"]) if _same(logged.get(r["step"]), r) else metrics_row(r) for r in records]
    out = Recovered(rows)
    for r in records:
        c = r["context"]
        if c.get("replay_of") is None:
            if c.get("phase_index") is not None:
                out.done[c["phase_index"]] = out.done.get(c["phase_index"], 0) + 1
            out.random_state = c.get("random_state") or out.random_state
        else:
            out.replayed.add((c.get("phase"), c["replay_of"]))

    st = loop.state
    st.step = len(records)
    last_t = max((r["t_s"] or 0.0 for r in rows), default=0.0)
    loop.t0 = time.perf_counter() - last_t  # episode time goes on from the last stored interaction
    st.events = store.events(episode)
    _restore_policy(loop, records)
    for e in store.expert_timeline():  # a job that ran when the driver died: failed, and its failures count afresh
        if e["status"] == "training":
            loop._status(e["name"], e["version"], "failed", {"error": "the driver stopped while it trained (found on resume)"},
                         "learner_failed", error="the driver stopped while it trained (found on resume)")
            loop.policy.finished(e["name"], store.last_id())
    out.served_again = _serve_newest_loadable(loop)
    if out.random_state:
        if out.random_state.get("empathy"):
            loop.empathy.restore_random_state(out.random_state["empathy"])
    log.info("resumed %s at step %d (%d interactions stored, %d events, serving %s)", episode, st.step, len(records),
             len(st.events), Path(st.checkpoint).name)
    return out


def _same(row: dict | None, record: dict) -> bool:
    return row is not None and row.get("id") == record["id"] and row.get("step") == record["step"]


def _restore_policy(loop: InteractionLoop, records: list[dict]) -> None:
    """Attempts per scenario (every registered version) and where each scenario's failures count from (the last
    interaction before its last concluded job), as the update policy had them."""
    p, store = loop.policy, loop.backend.store
    id_before = {r["step"]: r["id"] for r in records}
    for e in store.expert_timeline():
        p.state.attempts[e["name"]] = p.state.attempts.get(e["name"], 0) + 1
    for e in loop.state.events:
        if e["event"] in TERMINAL and e.get("scenario"):
            before = [id_before[s] for s in range(min(int(e["step"]), len(records)))]
            p.state.baseline_id[e["scenario"]] = before[-1] if before else 0


def _serve_newest_loadable(loop: InteractionLoop) -> str:
    """Load the checkpoint of the newest published expert (by the order of publication); one that no longer
    loads (truncated, altered, deleted) is passed over for the one before it, down to the bootstrap generator."""
    paths = {(e["name"], e["version"]): e["path"] for e in loop.backend.store.expert_timeline()}
    published = [paths[(e["scenario"], e["version"])] for e in loop.state.events
                 if e["event"] == "expert_published" and (e.get("scenario"), e.get("version")) in paths]
    first = loop.state.checkpoint  # what the session opened with: the bootstrap generator
    for path in [*reversed(published), first]:
        try:
            loaded = loop.backend.load_generator(path)
        except (L2EMGError, FileNotFoundError) as exc:
            log.warning("resume: %s does not load (%s); serving the version before it", path, exc)
            loop._event("expert_unloadable", path=str(path), error=str(exc)[:200])
            continue
        loop.state.checkpoint, loop.state.experts = path, loaded.experts
        return path
    raise RunFolderError(f"{loop.episode}: no published generator loads, not even the first ({first})")
