"""Reference sanity checks (envs/executor/sanity.py): bad references are recorded failures with a reason,
never an exception, and real or procedural motion passes."""
import dataclasses

import numpy as np
import pytest

from envs.executor import ExecutionResult, TrackingExecutor, load_executor_config
from envs.executor.sanity import SanityConfig, check_motion, measure
from envs.motion import Motion
from helpers import lifted


@pytest.fixture(scope="module")
def bow(synth):
    return synth.generate("daily_life", "bow", "neutral", 0).motion


@pytest.fixture(scope="module")
def walk(synth):
    return synth.generate("daily_life", "walk", "neutral", 0).motion


@pytest.mark.parametrize("key", [("daily_life", "walk", "happy"), ("sports", "run", "energetic"), ("daily_life", "bow", "sad"),
                                 ("sports", "kick", "angry"), ("game", "jump", "angry"), ("acrobatics", "star_jump", "happy"),
                                 ("dance", "spin", "happy")])
def test_procedural_clips_pass(synth, key):
    m = synth.generate(*key, 0).motion
    assert check_motion(m) is None, measure(m)


def test_a_ballistic_jump_passes_and_the_same_hop_hovering_does_not(synth):
    jump = synth.generate("game", "jump", "angry", 0).motion
    f = measure(jump)
    assert f.longest_airborne_s == 0 or f.worst_airborne_accel < -0.5 * 9.81
    assert check_motion(jump) is None
    # Both feet 40 cm up for 0.6 s at a constant height: no flight does that.
    hover = lifted(synth.generate("daily_life", "bow", "neutral", 0).motion, 1.0, 1.8, 0.4, ramp_s=0.1)
    p = check_motion(hover)
    assert p is not None and p.reason == "floating_reference" and "not falling" in p.detail


def test_nan_in_a_motion_is_a_nan_reference(bow):
    bad = Motion(bow.positions.copy(), bow.rotations.copy(), bow.fps)
    bad.positions[7, 3, 1] = np.nan  # after construction: the Motion's own check has already run
    p = check_motion(bad)
    assert p.reason == "nan_reference" and "7" in p.detail
    zero = Motion(bow.positions, bow.rotations.copy(), bow.fps)
    zero.rotations[4, 5] = 0.0  # not a rotation: its Euler angles would be NaN
    assert check_motion(zero).reason == "nan_reference"


def test_floating_walk_in_the_air(walk):
    p = check_motion(lifted(walk, 1.0, 2.5, 0.3))
    assert p is not None and p.reason == "floating_reference" and p.at_s == pytest.approx(1.0, abs=0.3)


def test_sinking_into_the_floor(bow):
    p = check_motion(lifted(bow, 1.0, 2.0, -0.3))
    assert p is not None and p.reason == "sinking_reference"
    # A few centimetres (mocap feet measured down to 4 cm under their floor) is not sinking.
    assert check_motion(lifted(bow, 1.0, 2.0, -0.03)) is None


def test_teleporting_root_joint_and_turn(bow, walk):
    pos = walk.positions.copy()
    pos[30:] += np.array([1.0, 0.0, 0.0])  # the whole body jumps a metre sideways between two frames
    p = check_motion(Motion(pos, walk.rotations, walk.fps))
    assert p.reason == "teleporting_reference" and "root" in p.detail and p.at_s == pytest.approx(29 / walk.fps)
    arm = bow.positions.copy()
    arm[20, 21] += np.array([0.0, 2.5, 0.0])  # a wrist 2.5 m away for one frame
    assert "joint" in check_motion(Motion(arm, bow.rotations, bow.fps)).detail
    rot = bow.rotations.copy()
    rot[25:, 0] = rot[25:, 0][:, [1, 0, 3, 2]] * np.array([-1, 1, 1, -1])  # the root flips by 180 deg (q * x)
    assert "turns" in check_motion(Motion(bow.positions, rot, bow.fps)).detail


def test_bad_references_are_failed_results_not_exceptions(executor, bow, walk):
    bad = Motion(bow.positions.copy(), bow.rotations, bow.fps)
    bad.positions[5] = np.inf
    cases = {"nan_reference": bad, "floating_reference": lifted(walk, 1.0, 2.5, 0.3),
             "sinking_reference": lifted(bow, 1.0, 2.0, -0.3)}
    pos = walk.positions.copy()
    pos[30:, :, 0] += 2.0
    cases["teleporting_reference"] = Motion(pos, walk.rotations, walk.fps)
    for reason, motion in cases.items():
        for mode in ("none", "residual", "full"):
            r = executor.execute(motion, mode=mode)
            assert (r.success, r.reason, r.mode, r.simulated_s) == (False, reason, mode, 0.0)
            assert r.detail and r.positions is None and r.duration_s > 0
            assert r.summary()["reason"] == reason


def test_disabled_checks_let_the_simulation_judge(bow):
    cfg = dataclasses.replace(load_executor_config(), sanity=SanityConfig(enabled=False))
    r = TrackingExecutor(cfg).execute(lifted(bow, 1.0, 2.0, -0.3).slice(0, 50), mode="full")
    assert r.reason != "sinking_reference"


def test_executor_service_never_raises_on_bad_references(bow):
    from agent.runtime.services import ExecutorService

    service = ExecutorService(mode="none")
    bad = Motion(bow.positions, bow.rotations.copy(), bow.fps)
    bad.rotations[3, 0] = np.nan
    out = service.execute(bad)
    assert out.result.reason == "nan_reference" and not out.result.success and out.features is None
    assert service.execute(None).result.reason == "no_motion"
    out = service.execute(Motion(bow.positions[:, :20], bow.rotations[:, :20], bow.fps))
    assert out.result.reason == "invalid_motion" and "22 joints" in out.result.detail


def test_failed_result_builder():
    r = ExecutionResult.failed("executor_error", "none", detail="lost")
    assert (r.success, r.reason, r.mode, r.simulated_s, r.wall_s, r.detail) == (False, "executor_error", "none", 0.0, 0.0, "lost")
    assert r.trajectory is None and r.summary()["metrics"]["mpjpe_mm"] is None


def test_sanity_config_is_validated(tmp_path):
    from envs.config import ConfigError
    from envs.executor.config import load_executor_config as load

    path = tmp_path / "executor.yaml"
    path.write_text("sanity:\n  max_root_sped: 3\n")
    with pytest.raises(ConfigError, match="sanity.max_root_sped"):
        load(path)
    path.write_text("sanity:\n  sink_depth: -0.1\n")
    with pytest.raises(ConfigError, match="sink_depth"):
        load(path)


def test_real_mocap_passes_every_check(bandai_root):
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    files = sorted((bandai_root / "dataset-1" / "data").glob("*.bvh"))
    assert len(files) >= 100
    refused = {}
    for f in files:
        p = check_motion(retarget(read_bvh(f), JointMap.bandai()).motion)
        if p is not None:
            refused[f.stem] = p.detail
    assert not refused
