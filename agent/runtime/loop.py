"""The closed loop (DESIGN §2) over a backend (in-process objects or Ray actors, same interface):
stimulus -> perception -> empathy policy -> generator -> executor pool -> judges + store, and the
background expert updates. The loop never waits for the learner: it only polls it between batches."""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from agent.runtime.empathy import EmpathyPolicy
from agent.runtime.messages import (Executed, Experience, Generated, Judged, LearningOutcome, LoadedGenerator, Perceived,
                                    Request, Stimulus, StoreClient)
from envs.motion.motion import Motion
from feedback.store import Interaction
from feedback.update import ExpertUpdatePolicy

log = logging.getLogger(__name__)
STAGES = ("perceive", "generate", "execute", "judge")


class Backend(Protocol):
    pool_size: int
    store: StoreClient

    def perceive(self, stimuli: list[Stimulus]) -> list[Perceived]: ...
    def generate(self, instructions: list[str]) -> list[Generated]: ...
    def execute(self, motions: list[Motion | None]) -> list[Executed]: ...
    def record(self, experiences: list[Experience]) -> list[Judged]: ...
    def load_generator(self, path: str) -> LoadedGenerator: ...
    def start_learning(self, base: str, scenario: str, out: str, self_generated: list, seed: int) -> None: ...
    def poll_learning(self) -> LearningOutcome | None: ...
    def close(self) -> None: ...


@dataclass
class LoopState:
    checkpoint: str  # the published ES-MoE checkpoint the generator serves
    experts: list[str]
    step: int = 0
    events: list[dict] = field(default_factory=list)
    learning: dict | None = None  # {scenario, version, out, started}


class InteractionLoop:
    def __init__(self, backend: Backend, empathy: EmpathyPolicy, policy: ExpertUpdatePolicy, episode: str,
                 experts_dir: str | Path, checkpoint: str, self_generated: bool = True, seed: int = 0,
                 on_record: Callable[[dict], None] | None = None, on_event: Callable[[dict], None] | None = None) -> None:
        self.backend, self.empathy, self.policy, self.episode = backend, empathy, policy, episode
        self.experts_dir = Path(experts_dir)
        self.self_generated, self.seed = self_generated, seed
        self.on_record, self.on_event = on_record or (lambda r: None), on_event or (lambda e: None)
        self.t0 = time.perf_counter()
        loaded = backend.load_generator(checkpoint)
        self.state = LoopState(checkpoint, loaded.experts)

    # -- one batch of interactions (as many as there are executors) ------------------------------------
    def run_batch(self, stimuli: list[Stimulus], phase: str, source_states: list[dict] | None = None,
                  phase_index: int | None = None) -> list[dict]:
        """``source_states``: the partner source's random state after drawing each stimulus; stored with each
        interaction (with the empathy policy's) so that ``run --resume`` continues the same random streams."""
        requests, t = self.request(stimuli, source_states)
        return self._serve(requests, phase, t, phase_index=phase_index)

    def replay(self, rows: list[dict], phase: str = "replay") -> list[dict]:
        """Serve stored requests again (instruction and intended emotion as they were) with the generator
        serving now (see ``serving``): a paired before/after comparison on identical requests."""
        requests = [Request(r["scenario"], r.get("utterance", ""), r["partner_emotion"], r["perceived"], r["text"], r["intended"],
                            r.get("manner", ""), r["step"]) for r in rows]
        return self._serve(requests, phase, {}, update=False)

    def _serve(self, requests: list[Request], phase: str, t: dict[str, float], update: bool = True,
               phase_index: int | None = None) -> list[dict]:
        """Generate, execute and judge ``requests``; returns one metrics row (the JSONL record) per request."""
        gens = self.generate(requests, t)
        execs = self.execute(gens, t)
        return self.judge(requests, gens, execs, phase, t, update, phase_index=phase_index)

    # -- the stages (agent/runtime/pipeline.py runs them overlapped) -------------------------------------
    def request(self, stimuli: list[Stimulus], source_states: list[dict] | None = None) -> tuple[list[Request], dict[str, float]]:
        """Perception and the empathy policy: what to ask the generator for, and the stage times so far. Each
        request carries the random state right after it was made (``source_states``: the partner source's after
        each draw; the empathy policy's), stored with its interaction so that ``run --resume`` goes on with the
        same streams however far a pipelined front ran ahead of the last committed verdict."""
        tic = time.perf_counter()
        perceived = self.backend.perceive(stimuli)
        t = {"perceive": time.perf_counter() - tic}
        requests = []
        for k, (s, p) in enumerate(zip(stimuli, perceived)):
            r = self.empathy.respond(p.emotion, p.confidence, s.scenario)
            state = {"source": source_states[k] if source_states else None, "empathy": self.empathy.random_state()}
            requests.append(Request(s.scenario, s.utterance, s.partner_emotion, p.emotion, r.instruction, r.emotion, r.manner,
                                    random_state=state))
        return requests, t

    def generate(self, requests: list[Request], t: dict[str, float]) -> list[Generated]:
        tic = time.perf_counter()
        gens = self.backend.generate([q.instruction for q in requests])
        t["generate"] = time.perf_counter() - tic
        return gens

    def execute(self, gens: list[Generated], t: dict[str, float]) -> list[Executed]:
        tic = time.perf_counter()
        execs = self.backend.execute([g.motion for g in gens])
        t["execute"] = time.perf_counter() - tic
        return execs

    def judge(self, requests: list[Request], gens: list[Generated], execs: list[Executed], phase: str,
              t: dict[str, float], update: bool = True, wall: float | None = None,
              phase_index: int | None = None) -> list[dict]:
        """Number the interactions, judge and commit them, return their rows, then (``update``) poll the
        learner and start one where a scenario keeps failing. ``wall``: the batch's time from perception to
        here when stages overlapped (pipeline), recorded beside the stage times. ``phase_index``: the
        episode phase served (stored with each interaction: ``run --resume`` counts what each phase did)."""
        b = self.backend
        served = []
        latency = {k: round(v * 1000, 2) for k, v in t.items()}  # one batch: the same stage times for each
        learning = self.state.learning["scenario"] if self.state.learning else None
        for q, g, e in zip(requests, gens, execs):
            step = self.state.step
            self.state.step += 1
            context = {"phase": phase, "phase_index": phase_index, "partner_emotion": q.partner_emotion, "perceived": q.perceived,
                       "manner": q.manner, "replay_of": q.replay_of, "generator": Path(self.state.checkpoint).name,
                       "learner_active": learning, "sim_reason": e.result.reason,
                       "t_s": round(time.perf_counter() - self.t0, 3), "random_state": q.random_state}
            inter = Interaction(self.episode, step, q.scenario, q.utterance, q.instruction, q.intended_emotion, g.experts, g.codes,
                                latency, context)
            served.append(Experience(inter, e))
        tic = time.perf_counter()
        judged = b.record(served)
        t["judge"] = time.perf_counter() - tic
        total = sum(t.values())
        timing = {**{k: round(x * 1000, 2) for k, x in t.items()}, "total": round(total * 1000, 2)}
        if wall is not None:
            timing["wall"] = round((wall + t["judge"]) * 1000, 2)
        rows = []
        for exp, j in zip(served, judged):
            i, v = exp.interaction, j.verdict
            row = metrics_row({"id": j.id, "step": i.step, "scenario": i.scenario, "utterance": i.utterance,
                               "response_text": i.response_text, "intended_emotion": i.intended_emotion, "experts": i.experts,
                               "latency_ms": dict(timing), "context": i.context, "success": v.success,
                               "physical_ok": v.physical_ok, "emotion_ok": v.emotion_ok, "semantic_ok": v.semantic_ok,
                               "novel": v.novel, "reason": v.reason, "details": v.details})
            rows.append(row)
            self.on_record(row)
        if update:
            self._update(rows)
        return rows

    @contextmanager
    def serving(self, checkpoint: str):
        """Serve with another published checkpoint inside the block (replays only: no update runs), then
        the current one again, also when the block fails."""
        current = self.state.checkpoint
        self.backend.load_generator(checkpoint)
        self.state.checkpoint = checkpoint
        try:
            yield
        finally:
            self.backend.load_generator(current)
            self.state.checkpoint = current

    # -- background expert updates -----------------------------------------------------------------
    def _new_event(self, kind: str, **kw) -> dict:
        return {"event": kind, "t_s": round(time.perf_counter() - self.t0, 3), "step": self.state.step, **kw}

    def _emit(self, e: dict) -> None:
        """An event already committed to the store: kept for the report and shown."""
        self.state.events.append(e)
        self.on_event(e)
        log.debug("%s", e)  # the runner shows events; this is for --verbose

    def _event(self, kind: str, **kw) -> None:
        e = self._new_event(kind, **kw)
        self.backend.store.add_event(self.episode, e)
        self._emit(e)

    def _status(self, scenario: str, version: int, status: str, metrics: dict, kind: str, **kw) -> None:
        """An expert version's new status and its event, committed together."""
        e = self._new_event(kind, scenario=scenario, version=version, **kw)
        self.backend.store.set_expert_status(scenario, version, status, metrics, (self.episode, e))
        self._emit(e)

    def _update(self, rows: list[dict]) -> None:
        b, st = self.backend, self.state
        if st.learning is not None:
            done = b.poll_learning()
            if done is not None:
                self._finish_learning(done)
        if st.learning is not None:
            return
        for sc in dict.fromkeys(r["scenario"] for r in rows):
            after = self.policy.state.baseline_id.get(sc, 0)
            if self.policy.should_train(sc, st.experts, b.store.failures_since(sc, after)):
                self.start_learning(sc)
                break

    def start_learning(self, scenario: str) -> None:
        b, st = self.backend, self.state
        self.policy.started(scenario)
        out = self.experts_dir / f"{scenario}-{int(time.time() * 1000)}"
        version = None
        try:
            extra = b.store.successful_codes(scenario, 256) if self.self_generated else []
            started = self._new_event("learner_started", scenario=scenario, self_generated=len(extra))
            version = b.store.add_expert(scenario, str(out), "training", {"parent": st.checkpoint}, (self.episode, started))
            started["version"] = version
            st.learning = {"scenario": scenario, "version": version, "out": str(out), "started": time.perf_counter()}
            b.start_learning(st.checkpoint, scenario, str(out), extra, self.seed + version)
        except Exception as exc:
            log.exception("starting the %s learner failed", scenario)
            st.learning = None
            if version is None:
                self._event("learner_failed", scenario=scenario, error=repr(exc)[:200])
            else:  # registered, then the job could not start: never left 'training'
                self._emit(started)
                self._status(scenario, version, "failed", {"error": repr(exc)[:500]}, "learner_failed", error=repr(exc)[:200])
            self.policy.finished(scenario, b.store.last_id())
            return
        self._emit(started)

    def _finish_learning(self, outcome: LearningOutcome) -> None:
        job = self.state.learning
        try:
            self._conclude(job, outcome)
        except Exception as exc:  # publishing went wrong (load, store): recorded, the loop goes on
            log.exception("concluding the %s learner failed", job["scenario"])
            self._status(job["scenario"], job["version"], "failed", {"error": repr(exc)[:500]}, "learner_failed",
                         error=repr(exc)[:200])
        finally:
            self.state.learning = None
            self.policy.finished(job["scenario"], self.backend.store.last_id())

    def _conclude(self, job: dict, outcome: LearningOutcome) -> None:
        b, st = self.backend, self.state
        sc, version = job["scenario"], job["version"]
        seconds = round(time.perf_counter() - job["started"], 1)
        if outcome.status != "done":
            self._status(sc, version, "failed", {"error": str(outcome.error)[:500]}, "learner_failed",
                         error=str(outcome.error)[:200], seconds=seconds)
        else:
            payload = outcome.report
            ok, why = self.policy.accept(payload)
            metrics = {"before": payload["before"], "after": payload["after"], "why": why, "train_seconds": payload["seconds"]}
            if ok:
                loaded = b.load_generator(payload["path"])  # a checkpoint that does not load is refused here: still the old one
                self._status(sc, version, "published", metrics, "expert_published", why=why, seconds=seconds,
                             experts=loaded.experts)
                st.checkpoint, st.experts = payload["path"], loaded.experts
            else:
                self._status(sc, version, "rolled_back", metrics, "expert_rolled_back", why=why, seconds=seconds)

    def abandon(self) -> None:
        """The episode ends while a learner still trains: its version is recorded as failed, never left 'training'."""
        job = self.state.learning
        if job is not None:
            self._status(job["scenario"], job["version"], "failed", {"error": "episode ended first"}, "learner_abandoned")
            self.state.learning = None

    def drain(self, timeout_s: float = 0.0) -> None:
        """At the end of an episode: give a running learner up to ``timeout_s`` to finish (0: do not wait)."""
        end = time.perf_counter() + timeout_s
        while self.state.learning is not None:
            done = self.backend.poll_learning()
            if done is not None:
                self._finish_learning(done)
                return
            if time.perf_counter() >= end:
                return
            time.sleep(0.2)


def metrics_row(r: dict) -> dict:
    """One interaction as its metrics.jsonl line, from what the store holds of it (``ExperienceStore.interactions``
    plus the loop's full stage latencies when it was just served): the same row live and on ``run --resume``."""
    c = r.get("context") or {}
    experts = r.get("experts") or {}
    latency = dict(r.get("latency_ms") or {})
    latency.setdefault("total", round(sum(v for v in latency.values() if isinstance(v, (int, float))), 2))
    return {"id": r["id"], "step": r["step"], "phase": c.get("phase"), "scenario": r["scenario"], "t_s": c.get("t_s"),
            "partner_emotion": c.get("partner_emotion"), "utterance": r["utterance"], "perceived": c.get("perceived"),
            "intended": r["intended_emotion"], "text": r["response_text"], "manner": c.get("manner", ""),
            "success": r["success"], "physical_ok": r["physical_ok"], "emotion_ok": r["emotion_ok"],
            "semantic_ok": r["semantic_ok"], "novel": r["novel"], "reason": r["reason"], "sim_reason": c.get("sim_reason"),
            "experts": experts, "top_expert": max(experts, key=experts.get) if experts else None,
            "covered": r["scenario"] in experts, "generator": c.get("generator"), "learner_active": c.get("learner_active"),
            "latency_ms": latency, "details": r.get("details") or {}, "replay_of": c.get("replay_of")}


def stage_percentiles(rows: list[dict]) -> dict:
    out = {}
    for k in STAGES + ("total", "wall"):  # wall: perception to verdict when stages overlap
        xs = [r["latency_ms"][k] for r in rows if k in r["latency_ms"]]
        if xs:
            out[k] = {"p50": round(float(np.percentile(xs, 50)), 1), "p95": round(float(np.percentile(xs, 95)), 1)}
    return out
