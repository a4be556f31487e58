"""`l2emg sweep`: seeds parsed, readings aggregated over seeds with a t-interval that matches a known case,
targets met counted per seed, and the report written."""
from __future__ import annotations

import pytest

from agent.episodes.sweep import aggregate, interval, parse_seeds, write_sweep_report


def test_seeds_parse_ranges_and_lists_and_refuse_nonsense():
    assert parse_seeds("0-3") == [0, 1, 2, 3] and parse_seeds("2,5") == [2, 5] and parse_seeds("7") == [7]
    for bad in ("a-b", "3-1", "1,1", ""):
        with pytest.raises(ValueError, match="--seeds"):
            parse_seeds(bad)


def test_interval_is_the_t_interval_of_the_mean():
    got = interval([1.0, 2.0, 3.0, 4.0])  # mean 2.5, sd 1.291, t(0.975, 3) = 3.182 -> half-width 2.054
    assert got["mean"] == 2.5 and got["ci95"] == [0.45, 4.55]
    assert interval([5.0])["ci95"] is None and interval([])["mean"] is None


def _result(seed: int, gain: float, met: bool) -> dict:
    target = {"target": "dance (new) gains >= 30 points", "loop": gain, "paired": [gain + 1, gain - 1], "met": met}
    return {"seed": seed, "run": f"runs/demo-seed{seed}", "targets": [target], "interactions": 10, "seconds": 1.0,
            "scenarios": {"dance": {"after": {"n": 4, "success": 50.0 + seed}}}, "paired": {}, "paired_after": {}}


def test_aggregate_counts_targets_per_seed_and_writes_a_report(tmp_path):
    s = aggregate("demo", [_result(0, 40.0, True), _result(1, 20.0, False), _result(2, 60.0, True)], {3: "RayTaskError: x"})
    t = s["targets"]["dance (new) gains >= 30 points"]
    assert t["met_in"] == 2 and t["seeds"] == 3 and t["met"] == {0: True, 1: False, 2: True}
    assert t["loop"]["mean"] == 40.0 and t["paired_0"]["mean"] == 41.0 and s["all_targets_met"] == {0: True, 1: False, 2: True}
    assert s["success_after"]["dance"]["mean"] == 51.0
    report = write_sweep_report(tmp_path, {**s, "seconds": 1.0, "cluster_cpus": 2.0}).read_text()
    assert "| dance (new) gains >= 30 points | 2/3 | yes | **no** | yes |" in report and "seed 3 failed" in report
    assert (tmp_path / "sweep.png").stat().st_size > 1000
