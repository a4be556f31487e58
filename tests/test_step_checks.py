"""The tracker's compiled per-step reading (envs/executor/step_checks.py) against the NumPy expressions it replaced."""
import numpy as np
import pytest

from envs.executor.step_checks import read_step


@pytest.mark.parametrize("joints", [3, 8, 22, 23, 130])
def test_read_step_equals_the_numpy_expressions(joints):
    rng = np.random.default_rng(joints)
    for _ in range(50):
        xpos = rng.normal(size=(joints + 5, 3)) * rng.uniform(0.01, 100.0)
        body_ids = rng.permutation(joints + 5)[:joints]
        reference = rng.normal(size=(joints, 3))
        qvel, qpos = rng.normal(size=69) * 10, rng.normal(size=70)
        out = np.zeros((joints, 3))
        peak, finite, deviation = read_step(xpos, body_ids, out, qvel, qpos, reference)
        np.testing.assert_array_equal(out, xpos[body_ids])
        assert peak == np.abs(qvel).max() and finite
        diff = xpos[body_ids] - reference
        expected = np.sqrt(np.einsum("ij,ij->i", diff, diff)).mean()
        assert abs(deviation - expected) <= 1e-14 * expected  # the last bits of each squared distance


def test_read_step_reports_non_finite_states():
    xpos, ids, ref = np.zeros((4, 3)), np.arange(4), np.zeros((4, 3))
    qvel, qpos = np.ones(5), np.ones(6)
    qvel[2] = np.nan
    peak, finite, _ = read_step(xpos, ids, np.zeros((4, 3)), qvel, qpos, ref)
    assert np.isnan(peak) and finite
    qpos[4] = np.inf
    peak, finite, _ = read_step(xpos, ids, np.zeros((4, 3)), np.ones(5), qpos, ref)
    assert peak == 1.0 and not finite


def test_the_mean_is_summed_as_numpy_sums():
    from envs.executor.step_checks import _pairwise_sum

    rng = np.random.default_rng(0)
    for n in range(1, 129):
        a = rng.normal(size=n) * 1e3
        assert _pairwise_sum(a) == a.sum(), n
