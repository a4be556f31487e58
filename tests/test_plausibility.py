"""Residual mode's physical judgement (envs/executor/assistance.py): the help a motion needs beyond the
floor, in body weights; real motion passes, a floating body or an impossible lean does not."""
import dataclasses

import numpy as np
import pytest

from envs.executor import TrackingExecutor, load_executor_config
from envs.executor.assistance import PlausibilityConfig, needed_assistance
from envs.executor.sanity import SanityConfig
from helpers import leaned, lifted


@pytest.fixture(scope="module")
def unchecked():
    """An executor without the sanity checks, so that a floating reference reaches the simulation."""
    return TrackingExecutor(dataclasses.replace(load_executor_config(), sanity=SanityConfig(enabled=False)))


@pytest.fixture(scope="module")
def bow(synth):
    return synth.generate("daily_life", "bow", "neutral", 0).motion


def test_good_motion_needs_no_help_although_the_weld_pushes(executor, synth):
    # The procedural source's fastest walk: with feet placed first it lands without a snap (RESULTS.md)
    for key in (("daily_life", "bow", "neutral"), ("daily_life", "walk", "energetic"), ("daily_life", "wave", "sad")):
        r = executor.execute(synth.generate(*key, 0).motion, mode="residual")
        assert r.success and r.reason == "ok", (key, r.detail)
        m = r.metrics
        assert m.needed_force_bw_worst < 0.1 and m.needed_torque_bw_m_worst < 0.15
        # The weld still carries much of the weight: its force says nothing about plausibility.
        assert m.residual_force_bw > 0.3
        assert m.residual_force_n == pytest.approx(m.residual_force_bw * 70.0 * 9.81, rel=1e-3)


def test_a_body_floating_30_cm_is_implausible(unchecked, bow, synth):
    r = unchecked.execute(lifted(bow, 1.0, 3.0, 0.3), mode="residual")
    assert not r.success and r.reason == "implausible_assistance" and "body weights of force" in r.detail
    assert r.metrics.needed_force_bw_worst > 0.9  # it needs its whole weight held up
    assert r.positions is not None  # simulated: the trajectory and metrics are kept for the report
    walk = synth.generate("daily_life", "walk", "neutral", 0).motion
    air = unchecked.execute(lifted(walk, 1.0, 99.0, 0.3), mode="residual")  # walking on in the air
    assert air.reason == "implausible_assistance" and air.metrics.needed_force_bw_p95 > 0.9


def test_an_impossible_lean_is_implausible(executor, bow):
    tipped = leaned(bow, 35.0)
    from envs.executor.sanity import check_motion

    assert check_motion(tipped) is None  # the feet stay on the floor: only the dynamics are wrong
    r = executor.execute(tipped, mode="residual")
    assert r.reason == "implausible_assistance" and "torque" in r.detail
    assert r.metrics.needed_torque_bw_m_worst > load_executor_config().plausibility.max_torque_bw_m
    # The weld applies less force here than on a plausible real walk: it cannot be the measure.
    assert r.metrics.residual_force_bw < 2.0


def test_only_residual_mode_is_judged(executor, bow):
    tipped = leaned(bow, 35.0).slice(0, 40)
    full = executor.execute(tipped, mode="full")
    assert full.reason != "implausible_assistance" and np.isnan(full.metrics.needed_force_bw)
    assert full.metrics.residual_force_bw == 0.0


def test_the_judgement_can_be_switched_off(bow):
    cfg = load_executor_config()
    off = dataclasses.replace(cfg, plausibility=dataclasses.replace(cfg.plausibility, enabled=False))
    r = TrackingExecutor(off).execute(leaned(bow, 35.0), mode="residual")
    assert r.success and r.metrics.needed_torque_bw_m_worst > cfg.plausibility.max_torque_bw_m  # still reported


def test_worst_window_and_threshold_logic():
    from envs.executor.assistance import Assistance

    cfg = PlausibilityConfig(max_force_bw=0.2, force_window_s=0.5, max_torque_bw_m=0.3, torque_window_s=2.0)
    quiet = np.zeros(200)
    hop = quiet.copy()
    hop[50:70] = 1.0  # 0.4 s of full support from outside at 0.02 s per sample: 0.8 over the worst 0.5 s
    a = Assistance(hop, quiet, 0.02)
    assert a.worst(hop, 0.5) == pytest.approx(0.8) and "force" in a.implausible(cfg)
    assert Assistance(quiet, quiet, 0.02).implausible(cfg) is None
    brief = quiet.copy()
    brief[:20] = 1.0  # a 0.4 s unsupported moment (a kick's swing) averages 0.2 over 2 s: passes
    assert Assistance(quiet, brief, 0.02).implausible(cfg) is None
    assert a.stats(cfg)["force_bw_p95"] == pytest.approx(1.0)


def test_real_mocap_passes(bandai_root, executor):
    """Every dataset-1 clip within the calibrated limits (needs only the reference), and residual mode
    on a few of them end to end."""
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    cfg = executor.config.plausibility
    files = sorted((bandai_root / "dataset-1" / "data").glob("*.bvh"))
    refused = {}
    for f in files:
        ref = executor.reference(retarget(read_bvh(f), JointMap.bandai()).motion)
        why = needed_assistance(executor.model, executor._scratch_data(), executor.qadr, ref, executor.foot_geoms, cfg).implausible(cfg)
        if why:
            refused[f.stem] = why
    assert len(files) >= 100 and not refused
    for name in ("dataset-1_walk_normal_001", "dataset-1_kick_normal_001", "dataset-1_dash_normal_001"):
        r = executor.execute(retarget(read_bvh(bandai_root / "dataset-1" / "data" / f"{name}.bvh"), JointMap.bandai()).motion,
                             mode="residual")
        assert r.success, (name, r.reason, r.detail)
