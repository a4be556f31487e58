"""A capturable start (envs/executor/start.py): where a clip starts standing, the body's first velocity is scaled down
so that its capture point lies inside the soles with a margin; elsewhere the body starts as the reference does."""
import dataclasses

import numpy as np
import pytest

from envs.executor import TrackingExecutor, load_executor_config
from envs.executor.start import GRAVITY, capturable_scale, standing_start
from envs.motion import Motion
from envs.skeleton import JOINT_INDEX
from helpers import still_motion

SQUARE = np.array([[-0.1, -0.1], [0.1, -0.1], [0.1, 0.1], [-0.1, 0.1]])  # soles' corners, m
OMEGA = np.sqrt(GRAVITY / 0.9)


def test_a_start_capturable_with_the_margin_is_kept():
    assert capturable_scale(np.array([0.0, 0.0, 0.9]), np.array([0.1, 0.0, 0.0]), SQUARE, 0.05) == 1.0


def test_a_fast_start_is_scaled_until_its_capture_point_lies_on_the_margin():
    s = capturable_scale(np.array([0.0, 0.0, 0.9]), np.array([0.5, 0.0, 0.0]), SQUARE, 0.05)
    assert 0 < s < 1
    assert s * 0.5 / OMEGA == pytest.approx(0.05, abs=1e-6)  # 0.05 inside the edge at x = 0.1


def test_a_centre_of_mass_near_the_edge_keeps_what_moves_it_inwards():
    near = np.array([0.08, 0.0, 0.9])  # within the margin of the edge at x = 0.1
    assert capturable_scale(near, np.array([-0.3, 0.0, 0.0]), SQUARE, 0.05) == 1.0  # comes back inside
    assert capturable_scale(near, np.array([0.3, 0.0, 0.0]), SQUARE, 0.05) == pytest.approx(0.0, abs=1e-6)
    # so fast inwards that it would cross to the far edge: scaled to the deepest point, the centre
    s = capturable_scale(near, np.array([-1.0, 0.0, 0.0]), SQUARE, 0.05)
    assert 0.08 - s * 1.0 / OMEGA == pytest.approx(0.0, abs=1e-6)


def test_standing_start_reads_the_schedule():
    stance = np.ones((120, 2), dtype=bool)
    assert standing_start(stance, 1 / 60, 0.5)
    stance[20, 1] = False  # a foot lifts at 0.33 s
    assert not standing_start(stance, 1 / 60, 0.5)
    assert standing_start(stance, 1 / 60, 0.3)


def _jolted(pose: Motion, offset: float) -> Motion:
    """A still pose whose body (not its feet) moves ``offset`` m sideways over its first four frames and stays there,
    the legs leaning with it: the jolt decoded motion starts with (0.25-0.33 m/s in the demo's dance expert)."""
    still = still_motion(pose, 80)
    p0 = still.positions[0]
    ankle = p0[[JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"]], 1].mean()
    lean = np.clip((p0[:, 1] - ankle) / (p0[0, 1] - ankle), 0.0, 1.0)  # 0 at the ankles, 1 from the pelvis up
    ramp = np.concatenate([np.array([0.0, 0.6, 0.85, 0.95]), np.ones(len(still.positions) - 4)]) * offset
    positions = still.positions.copy()
    positions[:, :, 0] += ramp[:, None] * lean[None, :]
    return Motion.from_positions(positions, still.fps)


def test_a_standing_body_started_with_a_jolt_it_cannot_catch_is_slowed_and_survives(pose):
    cfg = load_executor_config()
    capturable = TrackingExecutor(cfg)
    as_given = TrackingExecutor(dataclasses.replace(cfg, start=dataclasses.replace(cfg.start, capturable=False)))
    jolted = _jolted(pose, -0.05)  # ~0.6 m/s sideways at the first frame
    slowed = capturable.execute(jolted)
    assert slowed.success and 0 < slowed.metrics.start_velocity_scale < 1
    lost = as_given.execute(jolted)
    assert not lost.success and lost.reason in ("tracking_lost", "fell")
    # a still start is capturable: the body starts as the reference, the same simulation as without the rule
    still = still_motion(pose, 40)
    a, b = capturable.execute(still), as_given.execute(still)
    assert a.metrics.start_velocity_scale == 1.0 and a.success
    np.testing.assert_array_equal(a.positions, b.positions)
