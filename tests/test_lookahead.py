"""The look-ahead among stepping variants (envs/executor/lookahead.py): options it accepts, how it decides, that a
rollout is the simulation itself run ahead, and a walk it keeps that the shipped stepping alone loses."""
import copy
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

from envs.config import ConfigError
from envs.executor.lookahead import Lookahead, LookaheadConfig
from envs.executor.stepping import SteppingConfig
from helpers import dataset1_clip


def test_options_are_stepping_keys_read_at_every_control_step():
    config = LookaheadConfig(enabled=True, options=["mpc.max_shift=0.6", "drift_correction=0.6,capture_gain=1.5"])
    shipped = SteppingConfig(enabled=True)
    variants = config.variants(shipped)
    assert variants[0] is shipped and len(variants) == 3
    assert variants[1].mpc.max_shift == 0.6 and variants[1].drift_correction == shipped.drift_correction
    assert (variants[2].drift_correction, variants[2].capture_gain) == (0.6, 1.5)
    with pytest.raises(ConfigError, match="contact_height"):  # read once, when the clip's schedule is made
        LookaheadConfig(options=["contact_height=0.03"])
    with pytest.raises(ConfigError, match="mpc.nope"):
        LookaheadConfig(options=["mpc.nope=1"])
    with pytest.raises(ConfigError, match="max_shift"):
        LookaheadConfig(options=["mpc.max_shift=fast"])  # not a number
    with pytest.raises(ConfigError, match="empty option"):
        LookaheadConfig(options=[" "])
    with pytest.raises(ConfigError, match="horizon_s"):
        LookaheadConfig(horizon_s=0.0)


def _chooser(scores: dict[float, tuple[int | None, list[float]]], **overrides):
    """A Lookahead over variants told apart by their capture gain, and a rollout that answers each variant's
    (failure step, deviations) from ``scores`` by that gain; the controller is a stand-in holding a stepping."""
    import mujoco

    model = mujoco.MjModel.from_xml_string("<mujoco><worldbody><body><freejoint/><geom size='0.1'/></body></worldbody></mujoco>")
    gains = sorted(scores)[1:]
    settings = dict(enabled=True, horizon_s=0.5, every_s=0.25, trigger_deviation=0.12) | overrides
    config = LookaheadConfig(options=[f"capture_gain={g}" for g in gains], **settings)
    shipped = SteppingConfig(enabled=True, capture_gain=sorted(scores)[0])
    chooser = Lookahead(config, model, control_hz=60.0)
    body = SimpleNamespace(stepping=shipped, planner=None, mpc=None, _mpc_last=None, ref=None)
    chooser.begin(body)  # the variants are made from the stepping the controller holds
    calls = []

    def rollout(trial, data, k0, end):
        calls.append((trial.stepping.capture_gain, k0, end))
        failed_at, deviations = scores[trial.stepping.capture_gain]
        return failed_at, False, deviations

    return chooser, body, mujoco.MjData(model), rollout, calls


def test_the_variant_that_tracks_best_over_the_horizon_drives_the_body():
    scores = {1.0: (None, [0.2, 0.3, 0.3]), 1.5: (None, [0.3, 0.1, 0.1]), 2.0: (20, [0.05])}
    chooser, body, d, rollout, calls = _chooser(scores)
    chooser.decide(d, 10, 0.05, body, 200, rollout)  # below the trigger: nothing simulated
    assert not calls and body.stepping.capture_gain == 1.0
    chooser.decide(d, 10, 0.2, body, 200, rollout)
    assert sorted(g for g, _, _ in calls) == [1.0, 1.5, 2.0] and {(k0, end) for _, k0, end in calls} == {(10, 40)}
    # the lowest deviation at the horizon's end wins; the variant that lost the clip ranks last despite its 0.05
    assert body.stepping.capture_gain == 1.5 and (chooser.decisions, chooser.switches) == (1, 1)
    calls.clear()
    chooser.decide(d, 20, 0.3, body, 200, rollout)  # within every_s of the last decision
    assert not calls
    chooser.decide(d, 25, 0.3, body, 200, rollout)
    assert chooser.decisions == 2 and chooser.switches == 1  # the same choice: no switch
    chooser.decide(d, 195, 0.3, body, 200, rollout)  # the horizon stops at the clip's end
    assert {(k0, end) for _, k0, end in calls[-3:]} == {(195, 200)}
    chooser.begin(body)  # a new clip starts on the shipped stepping
    assert body.stepping.capture_gain == 1.0 and chooser.decisions == 0


def test_ties_keep_the_variant_in_use_and_failures_rank_by_how_soon():
    scores = {1.0: (5, [0.1]), 1.5: (25, [0.1] * 15), 2.0: (25, [0.1] * 15)}
    chooser, body, d, rollout, _ = _chooser(scores)
    chooser.decide(d, 10, 0.2, body, 200, rollout)
    assert body.stepping.capture_gain == 1.5  # lost later than the shipped one; tied with 2.0, the lower index
    disabled, body2, d2, rollout2, calls = _chooser(scores, enabled=False)
    disabled.decide(d2, 10, 0.4, body2, 200, rollout2)
    assert not calls and body2.stepping.capture_gain == 1.0


def test_a_rollout_is_the_simulation_run_ahead(bandai_root, executor):
    """A copy of the controller and of the state, run by ``_rollout`` with the stepping in use, reads the same
    deviations step for step as the simulation that then goes on: the copy holds all the controller's state."""
    import mujoco

    motion = dataset1_clip(bandai_root, "walk_normal_001")
    ref = executor.reference(motion)
    start, seen, ahead = 40, {}, {}
    scratch = mujoco.MjData(executor.model)

    def hook(d, k):
        seen[k] = d.xpos[executor.body_ids].copy()
        if k == start:
            wb = executor.wholebody
            trial = copy.deepcopy(wb, {id(executor.model): executor.model, id(wb.ref): wb.ref})
            mujoco.mj_copyData(scratch, executor.model, d)
            failed_at, _, deviations = executor._rollout(ref, trial, scratch, start, start + 30)
            assert failed_at is None
            ahead["deviations"] = deviations

    off = dataclasses.replace(executor.config.lookahead, enabled=False)
    executor.lookahead.config = off  # the main run must not switch variants itself
    executor.hooks[:] = [hook]
    try:
        result = executor.execute(motion, mode="none", ref=ref)
    finally:
        executor.hooks[:] = []
        executor.lookahead.config = executor.config.lookahead
    assert result.success
    main = [float(np.linalg.norm(seen[k + 1] - ref.positions[k], axis=-1).mean()) for k in range(start, start + 30)]
    assert np.allclose(ahead["deviations"], main, rtol=0, atol=1e-12)


def test_the_look_ahead_keeps_a_walk_the_shipped_stepping_alone_loses(bandai_root):
    """``walk-left_tired_001`` (4.5 s): the shipped stepping alone loses the clip near its end (4.37 s, 2026-12-07);
    with the look-ahead it is walked to the end, having decided and switched variants along the way."""
    from envs.executor import TrackingExecutor, load_executor_config

    motion = dataset1_clip(bandai_root, "walk-left_tired_001")
    config = load_executor_config()
    assert config.lookahead.enabled  # shipped
    kept = TrackingExecutor(config).execute(motion, mode="none")
    assert kept.success, (kept.reason, kept.failed_at_s)
    assert kept.metrics.lookahead_decisions > 0 and kept.metrics.lookahead_switches > 0
    alone = TrackingExecutor(dataclasses.replace(config, lookahead=dataclasses.replace(config.lookahead, enabled=False)))
    lost = alone.execute(motion, mode="none")
    assert not lost.success and lost.metrics.lookahead_decisions == 0
