"""Flights of the clip (envs/executor/stepping.py): landings after one (``StepPlanner._landing``: how fast a late foot
comes down and how deep its target sinks), and the steps of one the schedule keeps in the air (``ballistic_flights``)."""
import dataclasses

import numpy as np
import pytest

from envs.executor.stepping import StepPlanner, SteppingConfig, contact_schedule
from test_stepping import _corners

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


def _run_with_a_flight(push_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Sole corners and centre-of-mass height of a run's stride: the left foot stands, then pushes off while it reads up
    (4.5 cm above the floor: a hovering retargeted toe) for ``push_s``, then both feet are up in a ballistic flight,
    then the right foot lands."""
    n, g = 60, 9.81
    heights = np.zeros((n, 2))
    heights[:, 1] = 0.25  # the right foot swings through
    lift, land = 15, 45
    heights[lift:, 0] = 0.045  # read up from the lift
    heights[lift + int(round(push_s / DT)):, 0] = 0.2
    heights[land:, 1] = 0.0
    t = np.arange(n) * DT
    push_end = (lift + push_s / DT) * DT
    com = np.full(n, 0.9)
    pushing = (t >= lift * DT) & (t < push_end)
    com[pushing] = 0.9 + 0.5 * 4.0 * (t[pushing] - lift * DT) ** 2  # the push still lifts the body at 4 m/s^2
    top, v0 = 0.9 + 0.5 * 4.0 * push_s ** 2, 4.0 * push_s
    after = t >= push_end
    com[after] = top + v0 * (t[after] - push_end) - 0.5 * g * (t[after] - push_end) ** 2  # then it falls freely
    return _corners(heights, np.zeros((n, 2))), com


def test_flights_keep_only_their_steps_in_the_air():
    corners, com = _run_with_a_flight(push_s=0.15)
    plain = SteppingConfig(enabled=True, floor_window_s=1.0)
    trimmed = dataclasses.replace(plain, flight_min_fall=0.5)
    by_feet = contact_schedule(corners, DT, plain, com_height=com).stance  # off: the feet alone
    assert not by_feet[16:44].any(axis=1).any()  # a 0.5 s flight from the lift, the push's 0.15 s included
    stance = contact_schedule(corners, DT, trimmed, com_height=com).stance
    assert stance[17:22, 0].all()  # the push stands on the foot nearer the floor
    assert not stance[27:44].any()  # the free fall stays a flight
    assert np.array_equal(contact_schedule(corners, DT, trimmed, com_height=None).stance, by_feet)  # no centre of mass: as the feet say
    # Feet too high (the lower 20 cm up) stay in the air whatever the centre of mass does.
    high = corners.copy()
    high[15:, 0, :, 2] = np.maximum(high[15:, 0, :, 2], 0.2)
    assert not contact_schedule(high, DT, trimmed, com_height=com).stance[16:44].any(axis=1).any()
    # A spell whose centre of mass does not fall on average is no flight (a tired walk's feet both read up): left alone.
    walk = np.full(len(com), 0.9)
    assert np.array_equal(contact_schedule(corners, DT, trimmed, com_height=walk).stance, by_feet)
