"""The online walking MPC (envs/executor/walk_mpc.py): centre of pressure on the soles, landings moved to catch."""
import numpy as np
import pytest

from envs.executor.walk_mpc import WalkMpc, WalkMpcConfig

DT = 1 / 60
SOLE = np.array([[-0.05, -0.04], [-0.05, 0.04], [0.15, -0.04], [0.15, 0.04]])  # x forward, y left, about the foot


def _walk(n: int = 120, land: int = 30, lift: int = 45):
    """The left foot stands at (0, 0.1) until ``lift``; the right swings from (-0.3, -0.1) and lands at (0.3, -0.1)
    at ``land``; the clip's centre of mass stands still at (0, 0) (heading +x)."""
    stance = np.zeros((n, 2), dtype=bool)
    stance[:lift, 0] = True
    stance[land:, 1] = True
    corners = np.zeros((n, 2, 8, 3))
    right_x = np.where(np.arange(n) < land, np.linspace(-0.3, 0.3, n)[np.minimum(np.arange(n), land)], 0.3)
    for f, (x, y) in enumerate(((np.zeros(n), 0.1), (right_x, -0.1))):
        corners[:, f, :, 0] = x[:, None] + np.tile(SOLE[:, 0], 2)
        corners[:, f, :, 1] = y + np.tile(SOLE[:, 1], 2)
    com = np.zeros((n, 3))
    com[:, 2] = 0.9
    forward = np.tile([1.0, 0.0], (n, 1))
    omega = np.full(n, np.sqrt(9.81 / 0.9))
    return WalkMpc(WalkMpcConfig(enabled=True), stance, corners, com, np.zeros((n, 3)), omega, forward, DT), corners


def test_the_planned_centre_of_pressure_lies_on_the_standing_sole():
    mpc, corners = _walk()
    sole = corners[0, 0]
    for com, vel in (((0.0, 0.05), (0.0, 0.0)), ((0.1, 0.05), (0.4, 0.0)), ((-0.05, 0.15), (-0.2, 0.3))):
        plan = mpc.plan(0, np.r_[com, 0.9], np.r_[vel, 0.0], np.array([True, False]), [sole, None])
        assert plan is not None
        assert sole[:, 0].min() + 0.02 - 1e-6 <= plan.zmp[0] <= sole[:, 0].max() - 0.02 + 1e-6
        assert sole[:, 1].min() + 0.02 - 1e-6 <= plan.zmp[1] <= sole[:, 1].max() - 0.02 + 1e-6


def test_a_body_running_ahead_moves_the_next_landing_forward_and_a_lagging_one_back():
    mpc, corners = _walk()
    support, soles = np.array([True, False]), [corners[0, 0], None]
    ahead = mpc.plan(0, np.array([0.1, 0.0, 0.9]), np.array([0.6, 0.0, 0.0]), support, soles)
    behind = mpc.plan(0, np.array([-0.1, 0.0, 0.9]), np.array([-0.6, 0.0, 0.0]), support, soles)
    still = mpc.plan(0, np.array([0.0, 0.0, 0.9]), np.zeros(3), support, soles)
    assert ahead.shift[1][0] > 0.05 and behind.shift[1][0] < -0.05  # the swinging right foot catches the body
    assert abs(still.shift[1][0]) < ahead.shift[1][0]
    assert all(np.abs(p.shift[1]).max() <= 0.3 + 1e-9 for p in (ahead, behind, still))


def test_no_plan_while_nothing_stands_or_across_a_flight():
    mpc, corners = _walk()
    assert mpc.plan(0, np.array([0.0, 0.0, 0.9]), np.zeros(3), np.array([False, False]), [None, None]) is None
    mpc.stance[10:40, 0] = False  # a 0.5 s flight: the pendulum does not hold
    mpc.stance[:, 1] = False
    assert mpc.plan(0, np.array([0.0, 0.0, 0.9]), np.zeros(3), np.array([True, False]), [corners[0, 0], None]) is None


def test_a_plan_is_the_same_whether_its_step_was_planned_before_or_not():
    """The controller plans several times per reference step; the part shared within a step is kept (_layout)."""
    mpc, corners = _walk()
    calls = [(k, np.array(s), com) for k in (0, 0, 32, 32, 32, 33) for s, com in
             (((True, False), (0.05, 0.0)), ((True, True), (0.1, -0.02)), ((True, False), (-0.05, 0.03)))]
    for k, support, com in calls:
        soles = [corners[k, f] if support[f] else None for f in range(2)]
        state = (np.r_[com, 0.9], np.array([0.3, -0.1, 0.0]), support, soles)
        kept, fresh = mpc.plan(k, *state), _walk()[0].plan(k, *state)
        assert (kept is None) == (fresh is None)
        if kept is not None:
            assert np.array_equal(kept.zmp, fresh.zmp)
            assert kept.shift.keys() == fresh.shift.keys()
            assert all(np.array_equal(kept.shift[f], fresh.shift[f]) for f in kept.shift)


def test_an_edited_schedule_is_planned_afresh_once_announced():
    """Push recovery edits the stance flags in place and says so (schedule_changed): the kept step is dropped."""
    mpc, corners = _walk()
    state = (np.array([0.0, 0.0, 0.9]), np.zeros(3), np.array([True, False]), [corners[0, 0], None])
    assert mpc.plan(0, *state) is not None
    mpc.stance[10:40, 0] = False  # a 0.5 s flight: no plan over it
    mpc.stance[:, 1] = False
    mpc.schedule_changed()
    assert mpc.plan(0, *state) is None


def test_before_a_flight_the_plan_runs_to_its_take_off_when_enough_is_left():
    """A run's flight in the horizon: with ``min_horizon_s`` the pendulum is planned up to the take-off (the landing
    after the flight gets no shift); too close to the take-off, or with it at 0, no plan (as across a flight)."""
    def plan(take_off: int, min_horizon_s: float):
        mpc, corners = _walk(land=45, lift=take_off)
        mpc.config = WalkMpcConfig(enabled=True, min_horizon_s=min_horizon_s)
        sole = corners[0, 0]
        return mpc.plan(0, np.array([0.0, 0.05, 0.9]), np.array([0.5, 0.0, 0.0]), np.array([True, False]),
                        [sole, None]), sole

    truncated, sole = plan(24, 0.2)  # 0.4 s on the left foot, then 0.35 s in the air
    assert truncated is not None and 1 not in truncated.shift
    assert sole[:, 0].min() + 0.02 - 1e-6 <= truncated.zmp[0] <= sole[:, 0].max() - 0.02 + 1e-6
    assert plan(24, 0.0)[0] is None
    assert plan(9, 0.2)[0] is None  # 0.15 s left before the take-off
    with pytest.raises(ValueError, match="min_horizon_s must be >= 0"):
        WalkMpcConfig(min_horizon_s=-0.1)


@pytest.mark.parametrize("max_shift", [0.3, 0.45])
def test_a_landing_moves_as_far_as_max_shift_for_a_body_far_behind_and_no_further(max_shift):
    """configs/executor.yaml ships 0.45 m: at 0.3 m the landings of walks falling behind their clip sat at the bound."""
    mpc, corners = _walk()
    mpc.config = WalkMpcConfig(enabled=True, max_shift=max_shift)
    for x, v in ((-0.1, -0.6), (-0.3, -1.0)):
        plan = mpc.plan(0, np.array([x, 0.0, 0.9]), np.array([v, 0.0, 0.0]), np.array([True, False]),
                        [corners[0, 0], None])
        assert plan.shift[1][0] == pytest.approx(-max_shift, abs=1e-3)
        assert np.abs(plan.shift[1]).max() <= max_shift + 1e-9


def test_a_rolling_standing_foot_bounds_the_centre_of_pressure_where_it_touches():
    """A rear foot on its toes (heel corners 5 cm up): with ``touching_height`` the ZMP stays on the toes' edge, where
    contact forces can act; bounded by the whole sole it goes back under the heel in the air."""
    import dataclasses

    rolling = np.zeros((8, 3))
    rolling[:, 1] = np.tile([-0.04, 0.04], 4) + 0.1
    rolling[:4, 0] = [-0.05, -0.05, 0.10, 0.10]  # the heel box: its rear edge up
    rolling[:4, 2] = [0.05, 0.05, 0.0, 0.0]
    rolling[4:, 0] = [0.10, 0.10, 0.16, 0.16]  # the toe box, flat on the floor
    behind = (np.array([-0.1, 0.1, 0.9]), np.array([-0.3, 0.0, 0.0]))  # the body falls back over its heel
    zmp = {}
    for height in (0.0, 0.02):
        mpc, _ = _walk()
        mpc.config = dataclasses.replace(mpc.config, touching_height=height)
        zmp[height] = mpc.plan(0, *behind, np.array([True, False]), [rolling, None]).zmp
    assert zmp[0.0][0] < 0.05  # under the raised heel
    assert 0.10 + 0.02 - 1e-6 <= zmp[0.02][0] <= 0.16 - 0.02 + 1e-6  # on the touching edge, within the margin
    with pytest.raises(ValueError, match="touching_height"):
        WalkMpcConfig(touching_height=-0.01)


def _turned(sole: np.ndarray, degrees: float, about: np.ndarray) -> np.ndarray:
    """(8, 3) sole corners turned by ``degrees`` about the vertical through ``about`` (xy)."""
    a = np.radians(degrees)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    out = sole.copy()
    out[:, :2] = (sole[:, :2] - about) @ rot.T + about
    return out


@pytest.mark.parametrize("support", ["box", "hull"])
def test_with_hull_support_the_centre_of_pressure_stays_on_a_sole_turned_against_the_heading(support):
    """A standing sole turned 35 degrees against the clip's heading, a body falling sideways and back: bounded by the
    box around the sole in the heading's axes the plan puts the ZMP in the box's corner, off the sole, where no
    contact force can act (what the walks lost sideways did: RESULTS.md); bounded by the sole's hull it stays on it."""
    import dataclasses

    from envs.executor.feasibility import hull_distance

    mpc, corners = _walk()
    mpc.config = dataclasses.replace(mpc.config, support=support)
    sole = _turned(corners[0, 0], 35.0, np.array((0.05, 0.1)))
    plan = mpc.plan(0, np.array([-0.05, 0.2, 0.9]), np.array([-0.3, 0.4, 0.0]), np.array([True, False]), [sole, None])
    outside = hull_distance(sole[:, :2], plan.zmp)
    if support == "box":
        assert outside > 0.01
    else:
        assert outside <= -0.02 + 1e-6  # inside by the margin
        assert np.abs(plan.shift[1]).max() <= 0.3 + 1e-9


def test_hull_support_plans_as_the_box_does_on_soles_along_the_heading():
    """A single sole square to the heading fills its box: the two bounds give the same plan (one QP or two). (Two soles
    do not: the box around both holds more than their hull.)"""
    import dataclasses

    mpc, corners = _walk()
    hull, _ = _walk()
    hull.config = dataclasses.replace(hull.config, support="hull")
    for k, com, vel in ((0, (0.1, 0.05), (0.4, 0.0)), (0, (-0.05, 0.15), (-0.2, 0.3)), (50, (0.3, -0.05), (0.5, -0.1))):
        support = np.array([k < 45, k >= 30])
        soles = [corners[k, f] if support[f] else None for f in range(2)]
        state = (np.r_[com, 0.9], np.r_[vel, 0.0], support, soles)
        a, b = mpc.plan(k, *state), hull.plan(k, *state)
        assert np.allclose(a.zmp, b.zmp, atol=2e-3)
        assert a.shift.keys() == b.shift.keys()
        assert all(np.allclose(a.shift[f], b.shift[f], atol=2e-3) for f in a.shift)
    with pytest.raises(ValueError, match="support must be"):
        WalkMpcConfig(support="circle")


def test_still_means_no_foot_lifts_or_lands_within_the_horizon():
    """The controller skips the plan there with ``plan_still: false`` (the shipped setting)."""
    mpc, _ = _walk()  # the right foot lands at 30, the left lifts at 45; the horizon is 1 s (60 steps)
    assert not mpc.still(0, np.array([True, False]))  # the right foot lands within the horizon
    assert mpc.still(50, np.array([False, True]))  # from 45 on the right stands and the left stays up to the end
    assert not mpc.still(50, np.array([True, True]))  # the body still stands on a foot the clip has lifted
    mpc.stance[:] = True
    mpc.schedule_changed()  # the contract of an edit in place (the controller's swing())
    assert mpc.still(0, np.array([True, True]))
    mpc.stance[70, 0] = False  # a lift just past the horizon
    mpc.schedule_changed()
    assert mpc.still(0, np.array([True, True])) and not mpc.still(15, np.array([True, True]))


def test_still_is_the_window_of_the_schedule():
    """``still`` reads precomputed runs of the schedule: the same answers as comparing the horizon's window row by row,
    on random schedules and after an edit."""
    rng = np.random.default_rng(9)
    mpc, _ = _walk()
    n = len(mpc.stance)
    for trial in range(20):
        mpc.stance[:] = rng.random((n, 2)) < (0.97 if trial % 2 else 0.6)
        mpc.stance[rng.integers(0, n):, :] = True  # a long run as well
        mpc.schedule_changed()
        for k in range(n):
            end = min(k + mpc.n * mpc.stride, n - 1)
            for support in ([True, True], [True, False], [False, True]):
                window = mpc.stance[k:end + 1]
                assert mpc.still(k, np.array(support)) == bool((window == np.array(support)).all())
