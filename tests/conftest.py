from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from envs.motion import Motion
from envs.synth import SynthSource

BANDAI_ENV = "L2EMG_BANDAI_ROOT"


@pytest.fixture(scope="session")
def bandai_root() -> Path:
    value = os.environ.get(BANDAI_ENV)
    if not value:
        pytest.skip(f"real Bandai-Namco data not configured: set {BANDAI_ENV} (CI sets it to ../shared/data/bandai-namco)")
    root = Path(value)
    if not (root / "dataset-1" / "data").is_dir():
        pytest.skip(f"{BANDAI_ENV}={value} does not hold dataset-1/data")
    return root


@pytest.fixture(scope="session")
def synth() -> SynthSource:
    return SynthSource()


@pytest.fixture(scope="session")
def walk_motion(synth: SynthSource) -> Motion:
    return synth.generate("daily_life", "walk", "happy", 0).motion


@pytest.fixture(scope="module")
def executor():
    """One default TrackingExecutor per test module."""
    from envs.executor import TrackingExecutor

    return TrackingExecutor()


@pytest.fixture(scope="session")
def pose(synth: SynthSource) -> Motion:
    """A synthetic standing pose source (its first frame is held by the still-pose tests)."""
    return synth.generate("daily_life", "wave", "happy", 0).motion


@pytest.fixture()
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def runtime_dirs(tmp_path_factory):
    """Runs and cache folders with the small bootstrap done once for the session."""
    from agent.episodes.config import bootstrap_request, load_episode
    from agent.recipes.bootstrap import bootstrap_assets
    from runtime_helpers import tiny_runtime, write_episode

    root = tmp_path_factory.mktemp("runtime")
    runs, cache = root / "runs", root / "cache"
    ep = load_episode(write_episode(root, "boot"))
    bootstrap_assets(bootstrap_request(ep), tiny_runtime().bootstrap, runs, str(cache), progress=False)
    return root, runs, cache


@pytest.fixture(scope="session")
def demo_runs(tmp_path_factory) -> Path:
    """A runs folder holding what `make demo` installs (the shipped synth-8 models)."""
    from agent.recipes.shipped import _fingerprint, install_shipped, shipped_manifest

    manifest = shipped_manifest("synth-8")
    if manifest is None:
        pytest.skip("no assets/synth-8 in this checkout")
    runs = tmp_path_factory.mktemp("demo-runs")
    assert install_shipped("synth-8", _fingerprint("synth-8"), runs / "synth-8", manifest["models"])
    return runs
