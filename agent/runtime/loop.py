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
    def run_batch(self, stimuli: list[Stimulus], phase: str) -> list[dict]:
        requests, t = self.request(stimuli)
        return self._serve(requests, phase, t)

    def replay(self, rows: list[dict], phase: str = "replay") -> list[dict]:
        """Serve stored requests again (instruction and intended emotion as they were) with the generator
        serving now (see ``serving``): a paired before/after comparison on identical requests."""
        requests = [Request(r["scenario"], r.get("utterance", ""), r["partner_emotion"], r["perceived"], r["text"], r["intended"],
                            r.get("manner", ""), r["step"]) for r in rows]
        return self._serve(requests, phase, {}, update=False)

    def _serve(self, requests: list[Request], phase: str, t: dict[str, float], update: bool = True) -> list[dict]:
        """Generate, execute and judge ``requests``; returns one metrics row (the JSONL record) per request."""
        gens = self.generate(requests, t)
        execs = self.execute(gens, t)
        return self.judge(requests, gens, execs, phase, t, update)

    # -- the stages (agent/runtime/pipeline.py runs them overlapped) -------------------------------------
    def request(self, stimuli: list[Stimulus]) -> tuple[list[Request], dict[str, float]]:
        """Perception and the empathy policy: what to ask the generator for, and the stage times so far."""
        tic = time.perf_counter()
        perceived = self.backend.perceive(stimuli)
        t = {"perceive": time.perf_counter() - tic}
        requests = []
        for s, p in zip(stimuli, perceived):
            r = self.empathy.respond(p.emotion, p.confidence, s.scenario)
            requests.append(Request(s.scenario, s.utterance, s.partner_emotion, p.emotion, r.instruction, r.emotion, r.manner))
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
              t: dict[str, float], update: bool = True, wall: float | None = None) -> list[dict]:
        """Number the interactions, judge and commit them, return their rows, then (``update``) poll the
        learner and start one where a scenario keeps failing. ``wall``: the batch's time from perception to
        here when stages overlapped (pipeline), recorded beside the stage times."""
        b = self.backend
        served = []
        latency = {k: round(v * 1000, 2) for k, v in t.items()}  # one batch: the same stage times for each
        for q, g, e in zip(requests, gens, execs):
            step = self.state.step
            self.state.step += 1
            inter = Interaction(self.episode, step, q.scenario, q.utterance, q.instruction, q.intended_emotion, g.experts, g.codes,
                                latency)
            served.append(Experience(inter, e))
        tic = time.perf_counter()
        judged = b.record(served)
        t["judge"] = time.perf_counter() - tic
        total = sum(t.values())
        learning = self.state.learning["scenario"] if self.state.learning else None
        timing = {**{k: round(x * 1000, 2) for k, x in t.items()}, "total": round(total * 1000, 2)}
        if wall is not None:
            timing["wall"] = round((wall + t["judge"]) * 1000, 2)
        rows = []
        for q, exp, j in zip(requests, served, judged):
            verdict, inter = j.verdict, exp.interaction
            row = {"id": j.id, "step": inter.step, "phase": phase, "scenario": q.scenario,
                   "t_s": round(time.perf_counter() - self.t0, 3), "partner_emotion": q.partner_emotion, "utterance": q.utterance,
                   "perceived": q.perceived, "intended": inter.intended_emotion,
                   "text": inter.response_text, "manner": q.manner, "success": verdict.success, "physical_ok": verdict.physical_ok,
                   "emotion_ok": verdict.emotion_ok, "semantic_ok": verdict.semantic_ok, "novel": verdict.novel,
                   "reason": verdict.reason, "sim_reason": exp.executed.result.reason, "experts": inter.experts,
                   "top_expert": max(inter.experts, key=inter.experts.get) if inter.experts else None,
                   "covered": q.scenario in inter.experts, "generator": Path(self.state.checkpoint).name,
                   "learner_active": learning, "latency_ms": dict(timing),
                   "details": verdict.details, "replay_of": q.replay_of}
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
    def _event(self, kind: str, **kw) -> None:
        e = {"event": kind, "t_s": round(time.perf_counter() - self.t0, 3), "step": self.state.step, **kw}
        self.state.events.append(e)
        self.on_event(e)
        log.debug("%s", e)  # the runner shows events; this is for --verbose

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
        try:
            version = b.store.add_expert(scenario, str(out), "training", {"parent": st.checkpoint})
            extra = b.store.successful_codes(scenario, 256) if self.self_generated else []
            st.learning = {"scenario": scenario, "version": version, "out": str(out), "started": time.perf_counter()}
            b.start_learning(st.checkpoint, scenario, str(out), extra, self.seed + version)
        except Exception as exc:
            log.exception("starting the %s learner failed", scenario)
            st.learning = None
            self.policy.finished(scenario, b.store.last_id())
            self._event("learner_failed", scenario=scenario, error=repr(exc)[:200])
            return
        self._event("learner_started", scenario=scenario, version=version, self_generated=len(extra))

    def _finish_learning(self, outcome: LearningOutcome) -> None:
        job = self.state.learning
        try:
            self._conclude(job, outcome)
        except Exception as exc:  # publishing went wrong (load, store): recorded, the loop goes on
            log.exception("concluding the %s learner failed", job["scenario"])
            try:
                self.backend.store.set_expert_status(job["scenario"], job["version"], "failed", {"error": repr(exc)[:500]})
            finally:
                self._event("learner_failed", scenario=job["scenario"], version=job["version"], error=repr(exc)[:200])
        finally:
            self.state.learning = None
            self.policy.finished(job["scenario"], self.backend.store.last_id())

    def _conclude(self, job: dict, outcome: LearningOutcome) -> None:
        b, st = self.backend, self.state
        sc, version = job["scenario"], job["version"]
        seconds = round(time.perf_counter() - job["started"], 1)
        if outcome.status != "done":
            b.store.set_expert_status(sc, version, "failed", {"error": str(outcome.error)[:500]})
            self._event("learner_failed", scenario=sc, version=version, error=str(outcome.error)[:200], seconds=seconds)
        else:
            payload = outcome.report
            ok, why = self.policy.accept(payload)
            metrics = {"before": payload["before"], "after": payload["after"], "why": why, "train_seconds": payload["seconds"]}
            if ok:
                loaded = b.load_generator(payload["path"])
                b.store.set_expert_status(sc, version, "published", metrics)
                st.checkpoint, st.experts = payload["path"], loaded.experts
                self._event("expert_published", scenario=sc, version=version, why=why, seconds=seconds, experts=st.experts)
            else:
                b.store.set_expert_status(sc, version, "rolled_back", metrics)
                self._event("expert_rolled_back", scenario=sc, version=version, why=why, seconds=seconds)

    def abandon(self) -> None:
        """The episode ends while a learner still trains: its version is recorded as failed, never left 'training'."""
        job = self.state.learning
        if job is not None:
            self.backend.store.set_expert_status(job["scenario"], job["version"], "failed", {"error": "episode ended first"})
            self._event("learner_abandoned", scenario=job["scenario"], version=job["version"])
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


def stage_percentiles(rows: list[dict]) -> dict:
    out = {}
    for k in STAGES + ("total", "wall"):  # wall: perception to verdict when stages overlap
        xs = [r["latency_ms"][k] for r in rows if k in r["latency_ms"]]
        if xs:
            out[k] = {"p50": round(float(np.percentile(xs, 50)), 1), "p95": round(float(np.percentile(xs, 95)), 1)}
    return out
