"""The small closed-loop setup the runtime tests share: a three-phase episode on a small synthetic source
and a runtime config with short trainings (its bootstrap, done once per session, is ``runtime_dirs`` in
conftest.py)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from agent.runtime.config import RuntimeConfig, load_runtime_config

SMALL = Path(__file__).parent / "data" / "synth-small.yaml"
EPISODE = f"""name: {{name}}
dataset: {SMALL}
executors: {{executors}}
seed: 0
update: {{{{failure_threshold: 2, min_success_gain: 0.0, self_generated: true}}}}
phases:
  - name: known
    scenarios: [daily_life, sports]
    interactions: 4
  - name: new
    scenarios: [dance, daily_life]
    interactions: 8
    until_learner_done: true
    max_interactions: 60
  - name: after
    scenarios: [dance, daily_life]
    interactions: 4
"""


def tiny_runtime() -> RuntimeConfig:
    rt = load_runtime_config()
    boot = dataclasses.replace(rt.bootstrap, tokenizer_iterations=60, evaluator_iterations=40, emotion_iterations=40,
                               pretrain_steps=40, expert_steps=10, batch=8)
    learner = dataclasses.replace(rt.learner, steps=10, batch=8, validation_texts=4, max_old_drop=1.0)
    # residual: these tests exercise the loop's plumbing, which is the same in every mode, and residual simulates
    # ~4x faster than the default (none, `l2emg sim bench`); test_install runs the shortened demo in the default
    executor = dataclasses.replace(rt.executor, mode="residual")
    return dataclasses.replace(rt, bootstrap=boot, learner=learner, executor=executor)


def write_episode(tmp: Path, name: str, executors: int = 1) -> Path:
    p = tmp / f"{name}.yaml"
    p.write_text(EPISODE.format(name=name, executors=executors))
    return p
