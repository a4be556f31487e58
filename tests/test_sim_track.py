"""`l2emg sim track --synth-all`: the procedural source's own clips through the physics executor."""
from __future__ import annotations

import json

import pytest

from agent.cli.main import main


def test_the_procedural_sources_clips_are_reported_per_scenario_and_family():
    from agent.bench.sim_track import track_synth

    report = track_synth(["shows"], "residual", workers=1, emotions=["neutral", "happy"])
    families = {"shows/present", "shows/take_bow", "shows/point", "shows/clap"}
    assert report["clips"] == 8 and report["clips_per_content"] == {f: 2 for f in families}
    assert {r["clip"] for r in report["per_clip"]} == {f"{f}/{e}" for f in families for e in ("neutral", "happy")}
    assert set(report["feasible_references_per_content"]) == families
    assert report["standing_gesture_success_rate"] is None and report["walking_success_rate"] is None
    with pytest.raises(ValueError, match="unknown scenarios"):
        track_synth(["no_such_scenario"], "none", workers=1)


def test_several_variations_of_the_procedural_source_are_tracked_as_distinct_clips():
    from agent.bench.sim_track import track_synth

    report = track_synth(["shows"], "residual", workers=1, emotions=["sad"], variations=2)
    assert report["clips"] == 8 and set(report["clips_per_content"].values()) == {2}
    assert {r["clip"] for r in report["per_clip"]} >= {"shows/clap/sad/0", "shows/clap/sad/1"}
    with pytest.raises(ValueError, match="variations"):
        track_synth(["shows"], "none", workers=1, variations=0)


def test_sim_track_synth_all_on_the_command_line(capsys):
    assert main(["sim", "track", "--synth-all", "shows", "--mode", "residual", "--workers", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["mode"] == "residual" and report["clips"] == 32  # 4 families x 8 emotions
    assert sum(report["failure_reasons"].values()) == round((1 - report["success_rate"]) * 32)


def test_sim_track_takes_executor_settings_and_reports_them(capsys, monkeypatch):
    """``--set executor.KEY=VALUE`` tracks with a changed executor config (the report says which); a key the config
    does not have is a one-line error naming it."""
    import agent.bench.sim_track as sim_track

    monkeypatch.setattr(sim_track, "_EXECUTOR", None)  # restored after the test: later tests track as shipped
    argv = ["sim", "track", "--synth-all", "shows", "--mode", "full", "--workers", "1", "--json"]
    assert main(argv + ["--set", "executor.failure.max_mean_deviation=0.000001"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["executor_overrides"] == {"failure.max_mean_deviation": "0.000001"}
    assert report["success_rate"] == 0.0 and report["failure_reasons"]["tracking_lost"] == 32
    assert main(argv + ["--set", "executor.wholebody.no_such_key=1"]) != 0
    assert "no_such_key" in capsys.readouterr().err


def test_a_content_whose_clips_were_all_refused_has_no_median_error_rather_than_a_crash():
    """A refused reference (floating, NaN, teleporting) has no tracking error; its content's median is None."""
    import time

    from agent.bench.sim_track import _report

    def row(content: str, mpjpe: float | None) -> dict:
        return {"content": content, "success": mpjpe is not None, "reason": "ok" if mpjpe is not None else "floating_reference",
                "mode": "none", "metrics": {"mpjpe_root_rel_mm": mpjpe}, "reference": {"feasible": mpjpe is not None}}

    report = _report([row("acrobatics/spin_jump", None), row("acrobatics/balance", 12.0), row("acrobatics/balance", None)],
                     "none", time.perf_counter())
    assert report["mpjpe_root_rel_mm_median_per_content"] == {"acrobatics/balance": 12.0, "acrobatics/spin_jump": None}
    assert report["failure_reasons"]["floating_reference"] == 2
    assert report["feasible_references_per_content"] == {"acrobatics/balance": 1, "acrobatics/spin_jump": 0}
