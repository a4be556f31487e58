"""The compiled PD targets of the whole-body QP (envs/executor/task_targets.py) are the NumPy expressions they replaced,
number for number; and the controller's precomputed stepping window is the window it replaced."""
import numpy as np

from envs.executor.cross import tilt_axis
from envs.executor.task_targets import add_root_pd, follow_feet, hinge_accelerations, stance_foot_target


def test_pd_targets_equal_the_numpy_expressions():
    rng = np.random.default_rng(5)
    nv = 69
    for _ in range(30):
        qacc_ref, ref_qd, qd = rng.normal(size=nv) * 20, rng.normal(size=nv) * 3, rng.normal(size=nv) * 3
        ref_q, q = rng.normal(size=nv + 1), rng.normal(size=nv + 1)
        anchor, rotvec = np.array((*rng.normal(size=2) * 0.1, 0.0)), rng.normal(size=3) * 0.2
        kp, kd, kp_p, kd_p, kp_o, kd_o = rng.uniform(1, 500, size=6)
        expected = qacc_ref.copy()
        expected[6:] += kp * (ref_q[7:] - q[7:]) + kd * (ref_qd[6:] - qd[6:])
        got = hinge_accelerations(qacc_ref, ref_q, q, ref_qd, qd, kp, kd)
        np.testing.assert_array_equal(got, expected)
        expected[:3] += kp_p * (ref_q[:3] + anchor - q[:3]) + kd_p * (ref_qd[:3] - qd[:3])
        expected[3:6] += kp_o * rotvec + kd_o * (ref_qd[3:6] - qd[3:6])
        add_root_pd(got, ref_q, q, anchor, ref_qd, qd, rotvec, kp_p, kd_p, kp_o, kd_o)
        np.testing.assert_array_equal(got, expected)


def test_stance_foot_target_equals_the_numpy_expression():
    rng = np.random.default_rng(7)
    for _ in range(30):
        velocity, xmat = rng.normal(size=6), rng.normal(size=9)
        kd, kp_height, kp_flat, sole_height, height = *rng.uniform(1, 1000, size=3), *rng.normal(size=2) * 0.05
        expected = -kd * velocity
        expected[2] += kp_height * (sole_height - height)
        expected[3:] += kp_flat * tilt_axis(xmat)
        got = stance_foot_target(velocity, kd, kp_height, sole_height, height, kp_flat, xmat)
        np.testing.assert_array_equal(got, expected)


def test_follow_feet_equals_the_numpy_expressions():
    rng = np.random.default_rng(6)
    heels = np.array([2, 5])
    for _ in range(30):
        xpos, ref_heels, anchor = rng.normal(size=(8, 3)), rng.normal(size=(2, 2)), rng.normal(size=2)
        rate = rng.uniform(0.01, 1.0)
        off = xpos[heels, :2] - ref_heels
        for left, right in ((True, True), (True, False), (False, True)):
            shift = (off[0] + off[1]) / 2.0 if left and right else off[0 if left else 1]
            np.testing.assert_array_equal(follow_feet(anchor, xpos, heels, ref_heels, left, right, rate, True), shift)
            np.testing.assert_array_equal(follow_feet(anchor, xpos, heels, ref_heels, left, right, rate, False),
                                          anchor + rate * (shift - anchor))


def test_the_stepping_window_follows_an_edited_schedule():
    """stepping_now: the QP's fast rate wherever a foot swings within STEP_MARGIN_S of a step (the window the
    controller read from the schedule at every step before), also after push recovery edits the schedule."""
    from envs.executor import TrackingExecutor
    from envs.executor.stepping import STEP_MARGIN_S
    from envs.synth import SynthSource

    ex = TrackingExecutor()
    ref = ex.reference(SynthSource().generate("daily_life", "wave", "neutral", 0).motion)
    tracked, stance = ex.planted(ref)
    wb = ex.wholebody
    wb.prepare(tracked, stance)
    margin = int(round(STEP_MARGIN_S / tracked.dt))

    def window_rule(k: int) -> bool:
        window = wb.stance[max(0, k - margin):k + margin + 1]
        return not (window.all() and wb.support.all())

    n = len(wb.stance)
    start = n // 3
    wb.swing(0, start, start + 20)  # a step of push recovery's own
    assert not wb.stance[start:start + 20, 0].any()
    for support in (np.array([True, True]), np.array([True, False])):
        wb.support = support
        assert [wb.stepping_now(k) for k in range(n)] == [window_rule(k) for k in range(n)]
    assert any(wb.stepping_now(k) for k in range(start, start + 20))
