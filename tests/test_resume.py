"""A driver killed mid-episode and resumed (issue 25): `l2emg run` is SIGKILLed at a random step of a short
episode, a second run on its folder meanwhile is refused, the run is resumed from its store, and the store
then holds steps 0..N-1 exactly once with a verdict each, expert versions that agree with the events, and
the same requests and counts as an uninterrupted run of the same seed.

The kill step is drawn at random; ``L2EMG_KILL_SEED`` fixes it (the seed is in every failure message)."""
from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from agent.runtime.run_dir import RunFolderError
from runtime_helpers import SMALL, tiny_runtime

ROOT = Path(__file__).resolve().parents[1]
SHORT = f"""name: {{name}}
dataset: {SMALL}
executors: 1
seed: 3
replay: 0
render_examples: false
update: {{{{failure_threshold: 2, min_success_gain: 0.0, self_generated: true}}}}
phases:
  - name: known
    scenarios: [daily_life, sports]
    interactions: 4
  - name: new
    scenarios: [dance, daily_life]
    interactions: 6
"""
N = 10
KIND = {"expert_published": "published", "expert_rolled_back": "rolled_back", "learner_failed": "failed",
        "learner_abandoned": "failed"}
REQUEST = ("scenario", "utterance", "partner_emotion", "perceived", "intended", "text", "manner", "phase")


def _episode(folder: Path, name: str) -> Path:
    p = folder / f"{name}.yaml"
    p.write_text(SHORT.format(name=name))
    return p


def _stored_steps(db: Path) -> list[int]:
    if not db.is_file():
        return []
    con = sqlite3.connect(str(db), timeout=30.0)
    try:
        return [s for (s,) in con.execute("SELECT i.step FROM interactions i JOIN verdicts v ON v.interaction_id = i.id "
                                          "ORDER BY i.step")]
    except sqlite3.OperationalError:  # the schema is not there yet
        return []
    finally:
        con.close()


def _lock_pid(folder: Path) -> int | None:
    try:
        return json.loads((folder / "run.lock").read_text()).get("pid")
    except (OSError, ValueError):
        return None


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _counts(summary: dict) -> dict:
    return {"interactions": summary["interactions"], "store": summary["store"],
            "phases": {k: v["n"] for k, v in summary["phases"].items()},
            "scenarios": {k: v["before"]["n"] + v["after"]["n"] for k, v in summary["scenarios"].items()}}


def test_a_killed_driver_resumes_without_losing_or_repeating_an_interaction(runtime_dirs, tmp_path):
    from agent.episodes.runner import run_episode
    from feedback.store import ExperienceStore
    from policies.esmoe.store import read_pointer

    root, runs, cache = runtime_dirs
    runtime = tiny_runtime()
    kw = dict(backend="local", runtime=runtime, cache=str(cache), progress=False, render=False)
    reference = run_episode(_episode(tmp_path, "uninterrupted"), runs, **kw)

    seed = int(os.environ.get("L2EMG_KILL_SEED", random.SystemRandom().randrange(10 ** 6)))
    kill_at = random.Random(seed).randint(1, N - 2)
    why = f"(L2EMG_KILL_SEED={seed}: killed once {kill_at} interactions were stored)"
    (tmp_path / "runtime.yaml").write_text(yaml.safe_dump(dataclasses.asdict(runtime)))
    episode = _episode(tmp_path, "killed")
    out, db = runs / "killed", runs / "killed" / "store.sqlite"
    shutil.rmtree(out, ignore_errors=True)  # no store of an earlier run to mistake for the driver's progress
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), "OMP_NUM_THREADS": "1"}
    driver = subprocess.Popen([sys.executable, "-m", "agent.cli", "run", str(episode), "--runs", str(runs), "--cache", str(cache),
                               "--backend", "local", "--runtime", str(tmp_path / "runtime.yaml"), "--no-render", "--quiet"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 900
        while len(_stored_steps(db)) < kill_at or _lock_pid(out) != driver.pid:
            assert driver.poll() is None, f"the driver ended before the kill {why}: {driver.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, f"no {kill_at} interactions within 15 min {why}"
            time.sleep(0.05)
        # a second run on the same folder while the driver lives: refused at once
        with pytest.raises(RunFolderError, match=rf"another run is using this folder \(pid {driver.pid} "):
            run_episode(episode, runs, **kw)
    finally:
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    stopped = _stored_steps(db)
    assert stopped == list(range(len(stopped))) and kill_at <= len(stopped) < N, f"{stopped} {why}"

    summary = run_episode(episode, runs, resume=True, **kw)

    store = ExperienceStore(db)
    try:
        assert store.integrity() == "ok"
        records = store.interactions("killed")
        assert [r["step"] for r in records] == list(range(N)), why  # every step once: none lost, none repeated
        assert store.counts() == {"interactions": N, "verdicts": N} and all(r["success"] is not None for r in records), why
        events, timeline = store.events("killed"), store.expert_timeline()
    finally:
        store.close()
    # every expert version: one start, one end, and the status its end event says; none left training
    for e in timeline:
        mine = [x for x in events if (x.get("scenario"), x.get("version")) == (e["name"], e["version"])]
        assert [x["event"] for x in mine if x["event"] == "learner_started"] == ["learner_started"], (e, mine, why)
        ends = [x for x in mine if x["event"] in KIND]
        assert len(ends) == 1 and KIND[ends[0]["event"]] == e["status"], (e, mine, why)
    assert {(x["scenario"], x["version"]) for x in events if x["event"] == "learner_started"} == \
        {(e["name"], e["version"]) for e in timeline}, why
    rows = _jsonl(out / "metrics.jsonl")
    paths = {(e["name"], e["version"]): e["path"] for e in timeline}
    published = [x for x in events if x["event"] == "expert_published"]
    expected = Path(paths[(published[-1]["scenario"], published[-1]["version"])]).name if published else rows[0]["generator"]
    assert Path(read_pointer(out / "generator.json")).name == expected, why  # the newest published version serves
    assert _jsonl(out / "events.jsonl") == events, why
    assert [r["step"] for r in rows] == list(range(N)), why
    # the same requests as the uninterrupted run, step by step (the random streams went on where they stopped) ...
    first = _jsonl(runs / "uninterrupted" / "metrics.jsonl")
    assert [tuple(r[k] for k in REQUEST) for r in rows] == [tuple(r[k] for k in REQUEST) for r in first], why
    # ... and the report's counts of an uninterrupted run
    assert _counts(summary) == _counts(reference), why
    assert summary["resumed"]["at_step"] == len(stopped), why
    assert "Resumed (`--resume`) at step" in (out / "report.md").read_text()


def test_a_write_failure_mid_run_stops_the_episode_with_the_store_intact(runtime_dirs, tmp_path):
    """The disk fails on the second batch (the store's commit raises SQLite's own "disk is full" error, as the
    real fault in test_run_folder.py does): the episode stops with one line, the first interaction stays
    committed and readable, the folder is unlocked, and no report claims a finished run."""
    from agent.episodes.runner import run_episode
    from feedback.store import ExperienceStore

    root, runs, cache = runtime_dirs
    episode = tmp_path / "full.yaml"
    episode.write_text(SHORT.format(name="disk-full").replace("interactions: 4", "interactions: 3").split("  - name: new")[0])

    def fail_after_first(backend, loop):
        def full(experiences):
            raise sqlite3.OperationalError("database or disk is full")

        backend.feedback.record = full

    with pytest.raises(RunFolderError, match=r"disk-full: writing failed \(SQLite: database or disk is full\); the episode "
                                             r"stopped, the store keeps the 1 interactions committed before it") as info:
        run_episode(episode, runs, backend="local", runtime=tiny_runtime(), cache=str(cache), progress=False, render=False,
                    on_backend=fail_after_first)
    assert "\n" not in str(info.value)
    out = runs / "disk-full"
    store = ExperienceStore(out / "store.sqlite")
    assert store.integrity() == "ok" and store.counts() == {"interactions": 1, "verdicts": 1}
    assert [r["step"] for r in store.interactions("disk-full")] == [0]
    store.close()
    assert [r["step"] for r in _jsonl(out / "metrics.jsonl")] == [0]
    assert not (out / "run.lock").exists() and not (out / "report.md").exists()


class _Source:
    """A partner source as the runner sees it: draws from one random stream whose state can be saved and restored."""

    def __init__(self) -> None:
        import numpy as np

        self.rng = np.random.default_rng(7)

    def draw(self, scenario: str, utterances=None) -> tuple[str, int]:
        return scenario, int(self.rng.integers(10 ** 9))

    def random_state(self) -> dict:
        return self.rng.bit_generator.state

    def restore_random_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


def test_phase_draws_resumed_from_stored_counts_and_state_go_on_with_the_same_partners():
    """What a resume feeds the runner's batches (served per phase index, the source's state after the last stored
    draw) continues the uninterrupted sequence exactly, wherever the cut falls (mid-batch, a phase boundary)."""
    from types import SimpleNamespace

    from agent.episodes.serving import PhaseDraws

    def phase(name: str, n: int) -> SimpleNamespace:
        return SimpleNamespace(name=name, scenarios=["x", "y", "z"], interactions=n, max_interactions=None,
                               until_learner_done=False, utterances=None)

    ep = SimpleNamespace(phases=[phase("a", 5), phase("b", 4), phase("a", 3)])  # a name used twice: told apart by index
    loop = SimpleNamespace(state=SimpleNamespace(learning=None))

    def flat(draws: PhaseDraws) -> list[tuple]:
        out = []
        while (nxt := draws()) is not None:
            stimuli, name, states, index = nxt
            out += [(s, name, index, st) for s, st in zip(stimuli, states)]
        return out

    full = flat(PhaseDraws(ep, loop, _Source(), 2))
    assert [(s[0], n, i) for s, n, i, _ in full][:6] == [("x", "a", 0), ("y", "a", 0), ("z", "a", 0), ("x", "a", 0),
                                                         ("y", "a", 0), ("x", "b", 1)]
    assert len(full) == 12
    for cut in range(1, len(full)):
        done: dict[int, int] = {}
        for _, _, i, _ in full[:cut]:
            done[i] = done.get(i, 0) + 1
        source = _Source()
        source.restore_random_state(full[cut - 1][3])
        rest = flat(PhaseDraws(ep, loop, source, 2, done))
        assert [x[:3] for x in rest] == [x[:3] for x in full[cut:]], cut
