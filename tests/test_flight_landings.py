"""Landings after a flight of the clip (envs/executor/stepping.py, ``StepPlanner._landing``): how fast a late foot
comes down and how deep its target sinks."""
import dataclasses

import numpy as np
import pytest

from envs.executor.stepping import StepPlanner, SteppingConfig

DT = 1 / 60


def test_a_late_foot_after_a_flight_comes_down_as_fast_as_the_clips_only_where_the_clip_falls():
    """A swing holding a flight of the clip (no foot down while its centre of mass falls) lands late at the clip's
    own foot's speed at its touch-down and sinks the flight's depth; the same swing where the centre of mass does not
    fall (a tired walk whose feet both read up) keeps the walking speed and depth, as does a swing with no flight."""
    n = 60
    stance = np.ones((n, 2), dtype=bool)
    stance[10:30, 0] = False  # the left foot swings 10-30 ...
    stance[20:25, 1] = False  # ... and the right lifts 20-25: no foot down there
    stance[40:50, 1] = False  # a walking swing of the right foot
    feet = np.zeros((n, 2, 3))
    feet[10:30, 0, 2] = np.r_[np.linspace(0.0, 0.3, 10), np.linspace(0.3, 0.0, 10)]  # up 0.3 m and down in 10 steps
    come_down = -np.gradient(feet[:, 0, 2], DT)[27:30].mean()  # m/s, the clip's foot over its swing's last 3 steps
    assert come_down > 1.5  # well above the walking landing_speed
    com = np.zeros((n, 3))
    com[:, 2] = 0.9
    falling = np.zeros((n, 3))
    falling[:, 2] = -9.81 * DT * np.arange(n)  # vertical velocity of a body falling at g throughout
    config = SteppingConfig(enabled=True, landing_speed=0.5, landing_depth=0.04, landing_at_clip_speed_flight=True,
                            landing_depth_flight=0.08, flight_fall=0.3, capture_gain=0.0)
    state = (np.array([0.0, 0.0, 0.9]), np.zeros(3), np.zeros(3))
    for velocity, flight in ((falling, True), (np.zeros((n, 3)), False)):
        planner = StepPlanner(config, stance, feet, com, velocity, DT)
        assert planner.in_flight_swing[15, 0] == flight and planner.in_flight_swing[22, 1] == flight
        assert not planner.in_flight_swing[45, 1] and not planner.in_flight_swing[5, 0]
        end, _ = planner.swing_target(29, 0, *state)  # 95 % through the swing: three quarters of the depth
        assert feet[29, 0, 2] - end[2] == pytest.approx(0.75 * (0.08 if flight else 0.04))
        _, down = planner.swing_target(31, 0, *state)  # landed in the clip, not on the floor
        assert -down[2] == pytest.approx(come_down if flight else 0.5)
        walking, _ = planner.swing_target(49, 1, *state)  # 90 % through: half
        assert -walking[2] == pytest.approx(0.5 * 0.04)
    slow = StepPlanner(dataclasses.replace(config, landing_at_clip_speed_flight=False), stance, feet, com, falling, DT)
    assert -slow.swing_target(31, 0, *state)[1][2] == pytest.approx(0.5)
