"""The executor ablation's variants (benchmarks/executor_ablation.py) name real config keys with valid values: a
typo would otherwise surface only after the shipped variant's minute of tracking."""
import importlib.util
from pathlib import Path

import pytest

from envs.config import apply_overrides
from envs.executor import TrackingExecutor
from envs.executor.config import load_executor_config

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "executor_ablation.py"


def _variants() -> dict[str, dict[str, str]]:
    spec = importlib.util.spec_from_file_location("executor_ablation", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VARIANTS


VARIANTS = _variants()


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_variant_builds_an_executor_that_differs_from_the_shipped_one(name):
    base = load_executor_config()
    config = apply_overrides(base, VARIANTS[name], f"variant {name}")
    assert (config == base) == (name == "shipped")
    TrackingExecutor(config)  # the controller accepts it (e.g. the stepping weights' hinge names)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_variant_executes_a_clip(name, pose):
    """Past building it: a variant's code path runs (the dcm-plan variant once raised NameError in prepare)."""
    from helpers import still_motion

    config = apply_overrides(load_executor_config(), VARIANTS[name], f"variant {name}")
    result = TrackingExecutor(config).execute(still_motion(pose, 20), mode="none")
    assert result.reason != "unstable", (name, result.reason)
