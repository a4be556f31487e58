"""The commands that read BVH take --joint-map/--units/--up-axis and work on a Mixamo-skeleton file."""
from __future__ import annotations

import json
from pathlib import Path

import imageio.v2 as imageio
import pytest
from foreign_bvh import drive

from agent.cli.main import main
from envs.io.bvh import write_bvh_clip

MAPS = Path(__file__).resolve().parents[1] / "configs" / "joint_maps"


@pytest.fixture(scope="module")
def mixamo_file(tmp_path_factory, synth):
    path = tmp_path_factory.mktemp("bvh") / "mixamo_wave.bvh"
    write_bvh_clip(path, drive("mixamo", synth.generate("daily_life", "wave", "happy", 0).motion.slice(0, 30)))
    return path


def test_render_a_mixamo_file(tmp_path, mixamo_file, capsys):
    out = tmp_path / "wave.gif"
    assert main(["render", "--bvh", str(mixamo_file), "--joint-map", "mixamo", "--out", str(out), "--width", "120", "--height", "120"]) == 0
    assert len(imageio.mimread(out)) == 29 and "29 frames at 20 fps" in capsys.readouterr().out


def test_sim_track_a_mixamo_file(mixamo_file, capsys):
    assert main(["sim", "track", "--bvh", str(mixamo_file), "--joint-map", str(MAPS / "mixamo.yaml"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["clip"] == "mixamo_wave" and report["success"] and report["reference"]["feasible"]


def test_data_bvh_reports_how_a_file_was_read(mixamo_file, capsys):
    assert main(["data", "bvh", str(mixamo_file), "--joint-map", "mixamo", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["read_as"]["unit"] == "cm" and report["quality"]["problems"] == []
    assert "mixamorig:LeftToeBase_End" in report["end_sites"]


def test_bad_input_is_one_line_on_the_command_line(tmp_path, mixamo_file, capsys):
    assert main(["data", "bvh", str(mixamo_file), "--joint-map", "lafan1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and str(mixamo_file) in err and "lafan1.yaml" in err and "pelvis" in err
    assert main(["render", "--bvh", str(mixamo_file), "--joint-map", "mixamo", "--units", "m", "--out", str(tmp_path / "x.gif")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "declared unit m" in err and str(mixamo_file) in err


def test_perceive_takes_bvh_options():
    from agent.cli.main import build_parser

    args = build_parser().parse_args(["perceive", "--motion", "x.bvh", "--joint-map", "cmu", "--units", "cmu", "--up-axis", "z"])
    assert (args.joint_map, args.units, args.up_axis) == ("cmu", "cmu", "z")
    args = build_parser().parse_args(["sim", "bench", "--bvh", "x.bvh", "--joint-map", "lafan1", "--up-axis", "y"])
    assert (args.joint_map, args.up_axis) == ("lafan1", "y")


def test_sim_track_report_counts_both_datasets_standing_gestures_and_says_none_without_them():
    """dataset-2's hand-raising and waving clips are standing gestures too; a folder without any reports None for
    their rate, not 0 % (2,546 dataset-2 clips once read 0.0 here)."""
    import time

    from agent.bench.sim_track import _report

    def row(content: str, success: bool) -> dict:
        return {"content": content, "success": success, "reason": "ok" if success else "fell", "mode": "none",
                "metrics": {"mpjpe_root_rel_mm": 10.0}, "reference": {"feasible": True}}

    mixed = _report([row("bow", True), row("wave-left-hand", False), row("walk", False)], "none", time.perf_counter())
    assert mixed["standing_gesture_success_rate"] == 0.5 and mixed["walking_success_rate"] == 0.0
    walks = _report([row("walk", True), row("run", False)], "none", time.perf_counter())
    assert walks["standing_gesture_success_rate"] is None and walks["walking_success_rate"] == 1.0
