"""The pipelined loop (agent/runtime/pipeline.py): stages overlap but batches are judged in order, a stage
never runs more than ``depth`` batches ahead of the next, an error stops the run after the batches before
it are judged, and an episode served pipelined writes what the serial loop writes (no expert landing)."""
from __future__ import annotations

import dataclasses
import json
import threading
import time

import pytest

from agent.runtime.pipeline import PipelinedLoop


class FakeLoop:
    """The four stage methods of InteractionLoop, recording when each batch passes each stage."""

    def __init__(self, fail_at: tuple[str, int] | None = None) -> None:
        self.log: list[tuple[str, int]] = []
        self.fail_at = fail_at
        self.lock = threading.Lock()

    def _stage(self, name: str, k: int) -> None:
        time.sleep(0.01 if name != "execute" else 0.03)
        with self.lock:
            self.log.append((name, k))
        if self.fail_at == (name, k):
            raise RuntimeError(f"{name} failed on batch {k}")

    def request(self, stimuli, source_states=None):
        self._stage("request", stimuli[0])
        return list(stimuli), {}

    def generate(self, requests, t):
        self._stage("generate", requests[0])
        return requests

    def execute(self, gens, t):
        self._stage("execute", gens[0])
        return gens

    def judge(self, requests, gens, execs, phase, t, update=True, wall=None, phase_index=None):
        self._stage("judge", requests[0])
        return [{"batch": requests[0], "phase": phase, "wall": wall}]


def draws(n: int):
    it = iter(range(n))
    return lambda: (lambda k: None if k is None else ([k], "p"))(next(it, None))


def test_batches_are_judged_in_order_with_stages_overlapping_and_bounded():
    loop = FakeLoop()
    rows = PipelinedLoop(loop, depth=1).run(draws(8))
    assert [r["batch"] for r in rows] == list(range(8)) and all(r["wall"] > 0 for r in rows)
    order = loop.log
    # overlap: some batch was generated while an earlier one had not been judged yet
    assert any(order.index(("generate", k + 1)) < order.index(("judge", k)) for k in range(7))
    # back-pressure: generation never gets more than depth + 2 batches ahead of judging (queue + stage in hand)
    for k in range(8):
        judged = sum(1 for name, j in order[: order.index(("generate", k))] if name == "judge")
        assert k - judged <= 3


@pytest.mark.parametrize("stage", ["generate", "execute", "judge"])
def test_an_error_stops_the_run_after_the_batches_before_it(stage):
    loop = FakeLoop(fail_at=(stage, 4))
    seen: list[dict] = []
    with pytest.raises(RuntimeError, match=f"{stage} failed on batch 4"):
        PipelinedLoop(loop, depth=1).run(draws(10), on_rows=seen.extend)
    assert [r["batch"] for r in seen] == [0, 1, 2, 3]
    assert not any(name == "judge" and k > 4 for name, k in loop.log)


def test_an_episode_served_pipelined_writes_what_the_serial_loop_writes(runtime_dirs):
    from agent.episodes.config import load_episode
    from agent.episodes.runner import run_episode
    from runtime_helpers import tiny_runtime, write_episode

    root, runs, cache = runtime_dirs
    out = {}
    for enabled in (False, True):
        rt = tiny_runtime()
        rt = dataclasses.replace(rt, pipeline=dataclasses.replace(rt.pipeline, enabled=enabled))
        name = f"pipe-{enabled}"
        ep = load_episode(write_episode(root, name, executors=2), {"update.failure_threshold": "100000", "replay": "0"})
        run_episode(ep, runs, backend="local", runtime=rt, cache=str(cache), progress=False, render=False)
        rows = [json.loads(line) for line in (runs / name / "metrics.jsonl").read_text().splitlines()]
        out[enabled] = [{k: v for k, v in r.items() if k not in ("t_s", "latency_ms", "id")} for r in rows]
    assert len(out[True]) == len(out[False]) >= 16 and out[True] == out[False]


class LearnerStartingLoop(FakeLoop):
    """Judging batch ``start`` starts a learner, judging batch ``stop`` concludes it (as verdicts do)."""

    def __init__(self, start: int, stop: int) -> None:
        super().__init__()
        self.start, self.stop = start, stop
        self.state = type("State", (), {"learning": None})()

    def judge(self, requests, gens, execs, phase, t, update=True, wall=None, phase_index=None):
        rows = super().judge(requests, gens, execs, phase, t, update, wall)
        k = requests[0][1]
        self.state.learning = {"scenario": "new"} if k == self.start else (None if k == self.stop else self.state.learning)
        return rows


@pytest.mark.parametrize("pipelined", [True, False])
def test_a_phase_that_waits_for_the_learner_reads_judged_state_not_the_state_at_drawing(pipelined):
    """The learner is started by the verdict on the phase's last own batch: a pipelined front stage has drawn
    the next batch before that verdict, and must not end the phase on what it saw then."""
    from types import SimpleNamespace

    from agent.episodes.serving import PhaseDraws
    from agent.runtime.pipeline import SETTLE

    phases = [SimpleNamespace(name=n, interactions=i, max_interactions=m, until_learner_done=u, scenarios=["s"], utterances=None)
              for n, i, m, u in [("A", 2, 0, False), ("B", 2, 20, True), ("C", 2, 0, False)]]
    loop = LearnerStartingLoop(start=3, stop=6)
    counter = iter(range(100))
    source = SimpleNamespace(draw=lambda scenario, utterances: ("stimulus", next(counter)), random_state=lambda: {})
    draws = PhaseDraws(SimpleNamespace(phases=phases), loop, source, 1)
    loop.request = lambda stimuli, states=None: (FakeLoop._stage(loop, "request", stimuli[0][1]), (list(stimuli), {}))[1]
    if pipelined:
        rows = PipelinedLoop(loop, depth=1).run(draws)
    else:
        rows = []
        while (nxt := draws()) is not None:
            if nxt is not SETTLE:
                reqs, t = loop.request(nxt[0])
                rows += loop.judge(reqs, loop.generate(reqs, t), None, nxt[1], t)
    by_batch = {r["batch"][1]: r["phase"] for r in rows}
    assert [by_batch[k] for k in range(7)] == ["A", "A"] + ["B"] * 5  # B served on while the learner trained
    assert [r["phase"] for r in rows][-2:] == ["C", "C"] and loop.state.learning is None
    assert sorted(by_batch) == list(range(len(rows)))  # every drawn batch judged once
