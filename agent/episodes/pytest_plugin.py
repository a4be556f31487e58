"""A pytest plugin for researchers' own CI (installed with l2emg as the ``pytest11`` entry point ``l2emg``):
run an episode YAML headless on the local backend and check that it still meets its targets.

    from agent.episodes.pytest_plugin import assert_targets_met

    def test_my_episode_still_learns(run_l2emg_episode):
        summary = run_l2emg_episode("episodes/my_episode.yaml")
        assert_targets_met(summary)

Fixtures: ``l2emg_runs`` (one runs folder per test session: models are bootstrapped or installed there once)
and ``run_l2emg_episode`` (a function: episode path -> the summary dict ``l2emg run`` writes). Loaded in
every pytest session of the environment, so this module imports nothing heavy until a fixture is used."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest


@pytest.fixture(scope="session")
def l2emg_runs(tmp_path_factory) -> Path:
    """The runs folder the episodes of this session share (models are installed or trained there once)."""
    return tmp_path_factory.mktemp("l2emg-runs")


@pytest.fixture
def run_l2emg_episode(l2emg_runs: Path) -> Callable[..., dict]:
    """``run(episode, backend="local", cache=None, render=False, **overrides)`` runs the episode YAML and
    returns its summary; ``overrides`` are dotted episode keys (``seed=3``, ``**{"update.failure_threshold": 4}``)."""
    return episode_runner(l2emg_runs)


def episode_runner(runs: Path) -> Callable[..., dict]:
    """What the ``run_l2emg_episode`` fixture hands a test, over the runs folder ``runs``."""

    def run(episode: str | Path, backend: str = "local", cache: str | None = None, render: bool = False,
            **overrides: object) -> dict:
        from agent.episodes.config import load_episode
        from agent.episodes.runner import run_episode

        sets = {k: str(v) for k, v in overrides.items()}
        return run_episode(load_episode(episode, sets), runs, backend, cache=cache, progress=False, render=render,
                           overrides={f"episode.{k}": v for k, v in sets.items()})

    return run


def failed_targets(summary: dict) -> list[dict]:
    return [t for t in summary.get("targets", []) if not t["met"]]


def assert_targets_met(summary: dict) -> None:
    """Fails the test with every target the episode missed and its reading (see the episode's report.md)."""
    if not summary.get("targets"):
        pytest.fail(f"episode {summary.get('episode')!r} declares no targets (`expect:` in its phases)")
    missed = failed_targets(summary)
    if missed:
        pytest.fail(f"episode {summary.get('episode')!r} missed {len(missed)} target(s): "
                    + "; ".join(f"{t['target']} (read {t.get('loop')}, paired {t.get('paired') or '-'})" for t in missed))


def assert_success_at_least(summary: dict, rate_percent: float, scenario: str | None = None) -> None:
    """The success rate (percent) of the whole episode, or of one scenario after its last expert landed."""
    if scenario is None:
        rows = [v for v in summary["phases"].values() if v.get("n")]
        n = sum(v["n"] for v in rows)
        got = sum(v["success"] * v["n"] for v in rows) / n if n else 0.0
    else:
        after = summary["scenarios"][scenario]["after"] if summary["scenarios"][scenario]["after"]["n"] else \
            summary["scenarios"][scenario]["before"]
        got = after.get("success", 0.0)
    if got < rate_percent:
        pytest.fail(f"episode {summary.get('episode')!r}: success {got:.1f} % < {rate_percent:g} %"
                    + (f" on {scenario}" if scenario else ""))
