"""Lift-off timing (envs/executor/lift_timing.py): a foot the clip lifts stays down while the body's capture point
lags the clip's over the other foot."""
import dataclasses

import numpy as np
import pytest

from envs.executor.lift_timing import LiftTimingConfig, capture_lag, held_lifts
from helpers import dataset1_clip

DT = 1 / 60
FRONT, REAR = np.array([0.3, 0.1]), np.array([0.0, -0.1])  # soles' centres: the right foot behind, about to lift


def test_the_lag_is_measured_from_each_ones_own_front_foot_along_the_step():
    """The body 0.1 m behind its front foot where the clip is 0.02 m behind its own, wherever each stands: a lag of
    0.08 m, read along the line between the feet (a sideways offset does not count); ahead of the clip, negative."""
    along = (FRONT - REAR) / np.linalg.norm(FRONT - REAR)
    side = np.array([-along[1], along[0]])
    moved = np.array([1.0, -2.0])  # the body's feet somewhere else on the floor than the clip's
    lag = capture_lag(FRONT + moved - 0.1 * along + 0.3 * side, REAR + moved, FRONT + moved,
                      FRONT - 0.02 * along, REAR, FRONT, 0.05)
    assert lag == pytest.approx(0.08)
    assert capture_lag(FRONT + 0.05 * along, REAR, FRONT, FRONT, REAR, FRONT, 0.05) == pytest.approx(-0.05)
    assert capture_lag(FRONT, FRONT + 0.01, FRONT, FRONT, REAR, FRONT, 0.05) is None  # soles on top of each other


def _held(config: LiftTimingConfig, k: int = 12, lag: float = 0.1, touching=(True, True, True, False),
          was=(True, True), support=(True, False)) -> np.ndarray:
    """The right foot (0: left, 1: right; the left stands in front) lifted by the clip at step 10, the body's capture
    point ``lag`` m behind the clip's (both 0.05 m short of the front foot in the clip)."""
    stance = np.ones((40, 2), dtype=bool)
    stance[10:30, 1] = False
    lifted_at = np.full((40, 2), -1)
    lifted_at[10:30, 1] = 10
    soles = np.array([FRONT, REAR])
    along = (FRONT - REAR) / np.linalg.norm(FRONT - REAR)
    clip_dcm = FRONT - 0.05 * along
    return held_lifts(config, k, DT, np.array(support), np.array(was), stance, lifted_at, np.array(touching),
                      lambda: soles, soles, clip_dcm - lag * along, clip_dcm)


def test_a_lift_waits_only_while_the_body_lags_touches_and_held_it_and_only_for_hold_s():
    config = LiftTimingConfig(hold_s=0.15, margin=0.0)
    assert _held(config).tolist() == [False, True]
    assert not _held(config, lag=-0.01).any()  # the body's capture point ahead of the clip's: the clip's timing
    assert not _held(dataclasses.replace(config, margin=0.12)).any()  # within the margin
    assert not _held(config, k=10 + 10).any()  # 0.167 s after the clip's lift-off: past hold_s
    assert not _held(config, touching=(True, False, True, False)).any()  # the foot already off the floor
    assert not _held(config, was=(True, False)).any()  # let go of once: it does not come back
    assert not _held(config, support=(False, False)).any()  # the front foot not supporting: wait_for_landing's case
    assert not _held(dataclasses.replace(config, hold_s=0.0)).any()  # off
    assert _held(config, touching=(False, False, False, True))[1]  # on its toes only, it still touches


def test_the_config_refuses_what_cannot_be_meant():
    with pytest.raises(ValueError, match="hold_s must be >= 0"):
        LiftTimingConfig(hold_s=-0.1)
    with pytest.raises(ValueError, match="min_spread > 0"):
        LiftTimingConfig(min_spread=0.0)


def test_a_slow_walk_is_walked_to_its_end_only_with_lifts_waiting_for_the_body(bandai_root, executor):
    """``walk-right_proud_001``: lifting its rear foot at the clip's lift-off with its capture point 4 cm behind the
    clip's, the body stalls over a 0.75 s single support and loses the clip at 3.2 s; with lifts waiting for the body
    (shipped, ``stepping.lift``) it walks the clip to its end (RESULTS.md, "Lift-offs wait for the body")."""
    from envs.executor import TrackingExecutor, load_executor_config

    motion = dataset1_clip(bandai_root, "walk-right_proud_001")
    assert executor.config.stepping.lift.hold_s > 0  # the shipped configuration
    walked = executor.execute(motion, mode="none")
    assert walked.success, (walked.reason, walked.failed_at_s)
    cfg = load_executor_config()
    on_time = TrackingExecutor(dataclasses.replace(cfg, stepping=dataclasses.replace(
        cfg.stepping, lift=dataclasses.replace(cfg.stepping.lift, hold_s=0.0))))
    lost = on_time.execute(motion, mode="none")
    assert not lost.success and lost.reason == "tracking_lost"
