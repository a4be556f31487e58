"""The compiled set-points (envs/executor/setpoints.py) are the NumPy expressions they replaced, number for number."""
import numpy as np

from envs.executor.setpoints import impedance_setpoints, torque_setpoints


def test_setpoints_equal_the_numpy_expressions_and_are_clipped():
    rng = np.random.default_rng(2)
    n = 63
    for _ in range(30):
        q, qd, tau = rng.normal(size=n), rng.normal(size=n) * 5, rng.normal(size=n) * 50
        q0, qd0, acc, inertia = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n) * 30, rng.uniform(0.01, 2, n)
        kp, kv = rng.uniform(50, 500, n), rng.uniform(5, 50, n)
        lo, hi = -rng.uniform(0.5, 2.0, n), rng.uniform(0.5, 2.0, n)
        t, kp_joint, kd_joint = rng.uniform(0, 0.02), 400.0, 40.0
        q_plan = q0 + t * qd0 + 0.5 * t * t * acc
        qd_plan = qd0 + t * acc
        torque = tau + inertia * (kp_joint * (q_plan - q) + kd_joint * (qd_plan - qd))
        expected = np.minimum(np.maximum(q + (torque + kv * qd) / kp, lo), hi)
        got = impedance_setpoints(q, qd, tau, t, q0, qd0, acc, inertia, kp_joint, kd_joint, kp, kv, lo, hi)
        np.testing.assert_array_equal(got, expected)
        assert (got == lo).any() or (got == hi).any(), "some set-points should be clipped here"
        plain = np.minimum(np.maximum(q + (tau + kv * qd) / kp, lo), hi)
        np.testing.assert_array_equal(torque_setpoints(q, qd, tau, kp, kv, lo, hi), plain)
    q[3] = np.nan  # a non-finite state is passed on, for the tracker to see
    assert np.isnan(torque_setpoints(q, qd, tau, kp, kv, lo, hi)[3])
