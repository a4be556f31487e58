"""Push recovery (envs/executor/push_recovery.py): the geometry, the choice of foot, and pushes on a still pose."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from envs.executor.hull import outside_distance
from envs.executor.push_recovery import PushRecovery, PushRecoveryConfig
from tests.helpers import still_motion

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.5, 0.5]])


def test_outside_distance_is_negative_inside_and_names_the_nearest_boundary_point():
    d, nearest = outside_distance(np.array([0.5, 0.2]), SQUARE)
    assert d == pytest.approx(-0.2) and np.allclose(nearest, [0.5, 0.0])
    d, nearest = outside_distance(np.array([1.3, 0.5]), SQUARE)
    assert d == pytest.approx(0.3) and np.allclose(nearest, [1.0, 0.5])
    d, nearest = outside_distance(np.array([2.0, 2.0]), SQUARE)
    assert d == pytest.approx(np.sqrt(2.0)) and np.allclose(nearest, [1.0, 1.0])


def _soles(left_x: float = 0.0, right_x: float = 0.0) -> np.ndarray:
    """(2, 8, 2) heel-box then toe-box corners of two feet facing +x, left at y = +0.1, right at y = -0.1."""
    def foot(x, y):
        heel = [[x - 0.05, y - 0.04], [x - 0.05, y + 0.04], [x + 0.05, y - 0.04], [x + 0.05, y + 0.04]]
        toes = [[x + 0.05, y - 0.04], [x + 0.05, y + 0.04], [x + 0.15, y - 0.04], [x + 0.15, y + 0.04]]
        return heel + toes
    return np.array([foot(left_x, 0.1), foot(right_x, -0.1)])


def _step(capture, soles=None, **config):
    recovery = PushRecovery(PushRecoveryConfig(**config), dt=1 / 60)
    soles = _soles() if soles is None else soles
    heels = np.c_[soles[:, :4].mean(axis=1), np.full(2, 0.025)]
    stance = np.ones((120, 2), dtype=bool)
    return recovery, recovery.maybe_step(10, stance, np.ones(2, dtype=bool), np.asarray(capture, float), soles,
                                         heels, 3.2)


def test_no_step_while_the_capture_point_stays_near_the_soles():
    assert _step([0.17, 0.0])[1] is None  # 2 cm past the toes: the ankles can still stop it
    assert _step([0.0, 0.0])[1] is None


def test_a_forward_push_steps_the_trailing_foot_forward_at_the_stance_width():
    _, step = _step([0.4, 0.0], _soles(left_x=0.05))  # the left foot leads
    assert step is not None and step.foot == 1  # the right one, farther from the capture point, steps
    # Forward, and no narrower: a little wider, as the body falls away from the standing foot meanwhile.
    assert step.shift[0] > 0.3 and -0.1 < step.shift[1] <= 0.0


def test_a_sideways_push_steps_the_foot_on_that_side_outwards_and_never_across():
    _, step = _step([0.05, -0.45])
    assert step.foot == 1 and step.shift[1] < -0.2  # the right foot, further right
    _, step = _step([0.05, 0.45])
    assert step.foot == 0 and step.shift[1] > 0.2


def test_a_step_waits_for_the_clip_to_stand_on_both_feet_for_the_whole_swing():
    recovery = PushRecovery(PushRecoveryConfig(), dt=1 / 60)
    stance = np.ones((120, 2), dtype=bool)
    stance[20, 0] = False  # the clip lifts a foot within the swing: its own step, not ours
    soles = _soles()
    heels = np.c_[soles[:, :4].mean(axis=1), np.full(2, 0.025)]
    assert recovery.maybe_step(10, stance, np.ones(2, dtype=bool), np.array([0.5, 0.0]), soles, heels, 3.2) is None


def _pushed(pose, impulse: float, direction: str, **stepping):
    """A 5 s still pose pushed on the pelvis for 0.1 s at 1 s, in the body's own direction."""
    from envs.executor import TrackingExecutor
    from envs.executor.config import load_executor_config

    cfg = load_executor_config()
    options = {k: v for k, v in stepping.items() if k != "push_recovery"}
    push = dataclasses.replace(cfg.stepping.push_recovery, **stepping.get("push_recovery", {}))
    ex = TrackingExecutor(dataclasses.replace(cfg, stepping=dataclasses.replace(cfg.stepping, push_recovery=push,
                                                                                **options)))
    still = still_motion(pose, 150)
    dt = ex.reference(still).dt
    ex.execute(still, mode="none")
    g = ex.foot_geoms
    forward = (ex.data.geom_xpos[g[2:4], :2] - ex.data.geom_xpos[g[:2], :2]).sum(axis=0)
    forward /= np.linalg.norm(forward)
    left = np.array([-forward[1], forward[0]])
    force = {"forward": forward, "left": left}[direction] * impulse / 0.1

    def hook(d, k):
        d.xfrc_applied[ex.pelvis, :2] = force if 1.0 <= k * dt < 1.1 else 0.0

    ex.hooks.append(hook)
    result = ex.execute(still, mode="none")
    return result, ex.wholebody.push


def test_a_forward_push_of_50_newton_seconds_is_survived_by_a_step_and_not_without(pose):
    """About 0.7 m/s for this 70 kg body: its capture point lands well past the toes."""
    result, recovery = _pushed(pose, 50.0, "forward")
    assert result.success and recovery.steps_taken == 1
    assert result.metrics.residual_force_n == 0  # nothing but the floor
    without, _ = _pushed(pose, 50.0, "forward", push_recovery={"enabled": False})
    assert not without.success  # it topples (the deviation limit or the fall test stops it first)


def test_a_sideways_push_lifting_a_standing_foot_is_survived_with_the_support_hysteresis(pose):
    """35 N s to the left. (30 N s was the example until the walking MPC bounded the ZMP by the soles' hull: since,
    that one is survived without the hysteresis too; 35 is not.)"""
    result, recovery = _pushed(pose, 35.0, "left")
    assert result.success and recovery.steps_taken == 0  # the ankles and hips suffice once the foot comes down
    without, _ = _pushed(pose, 35.0, "left", support_hysteresis=False)
    assert not without.success  # it topples (the deviation limit or the fall test stops it first)


def test_a_backward_push_of_50_newton_seconds_is_survived_only_with_the_clip_balancing_after_the_step(pose):
    """After push recovery's step the centre of mass follows the clip (``mpc_after_step: false``); with the walking
    MPC's pendulum plan kept on instead, the body loses the clip after the same step (RESULTS.md: fore/aft pushes
    survived on four poses 6 -> 10 of 24)."""
    result, recovery = _pushed(pose, -50.0, "forward")
    assert result.success and recovery.steps_taken == 1
    planned, recovery = _pushed(pose, -50.0, "forward", push_recovery={"mpc_after_step": True})
    assert recovery.steps_taken == 1 and not planned.success
