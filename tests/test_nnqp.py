"""The compiled non-negative QP (envs/executor/nnqp.py) against DAQP and SciPy's NNLS."""
import numpy as np
import pytest

from envs.executor.nnqp import non_negative_qp


def _problem(rng, m: int, rows: int, spread: float):
    """1/2 |A f - b|^2 as (H, g), with columns scaled over ``spread`` orders of magnitude (the controller's weights)."""
    a = rng.normal(size=(rows, m)) * 10.0 ** rng.uniform(-spread / 2, spread / 2, size=m)
    b = rng.normal(size=rows) * 10.0
    return a.T @ a + 1e-6 * np.eye(m), -(a.T @ b), a, b


@pytest.mark.parametrize("m,rows,spread", [(4, 12, 0.0), (24, 40, 2.0), (48, 60, 4.0), (64, 64, 3.0), (40, 120, 6.0)])
def test_block_principal_pivoting_finds_the_nnls_optimum(m, rows, spread):
    from scipy.optimize import nnls

    rng = np.random.default_rng(m + rows)
    bound_seen = 0
    for _ in range(40):
        hessian, gradient, _, _ = _problem(rng, m, rows, spread)
        f, solved = non_negative_qp(hessian, gradient)
        assert solved
        assert (f >= 0).all()
        # KKT: the cost's slope is zero where f > 0 and points into f > 0 where f = 0
        slope = hessian @ f + gradient
        scale = np.abs(gradient).max() + np.abs(hessian).max() * np.abs(f).max()
        assert np.abs(slope[f > 0]).max(initial=0.0) < 1e-8 * scale
        assert slope[f == 0].min(initial=0.0) > -1e-8 * scale
        low = np.linalg.cholesky(hessian)  # the same problem as least squares: |L' f + L^-1 g|
        ref = nnls(low.T, -np.linalg.solve(low, gradient))[0]
        cost = lambda v: 0.5 * v @ hessian @ v + gradient @ v  # noqa: E731
        assert cost(f) <= cost(ref) + 1e-9 * abs(cost(ref)) + 1e-12
        bound_seen += int((f == 0).sum())
    assert bound_seen > 0, "some bounds should bind in these problems"


def test_it_matches_daqp_on_the_controllers_shape():
    """Many bounds binding (a target the forces cannot reach): the same optimum as DAQP's."""
    from envs.executor.qp import _daqp_scaled

    rng = np.random.default_rng(11)
    for _ in range(20):
        hessian, gradient, _, _ = _problem(rng, 48, 50, 3.0)
        gradient += np.abs(gradient).mean() * rng.uniform(0, 2, size=48)  # push many forces onto their bound
        f, solved = non_negative_qp(hessian, gradient)
        scale = 1.0 / np.sqrt(np.diag(hessian))
        d = _daqp_scaled(hessian, gradient, scale, np.zeros((0, 48)), np.full(48, 1e30), np.zeros(48))
        assert solved and d is not None
        assert (f == 0).sum() >= 5
        np.testing.assert_allclose(f, d, atol=1e-7 * np.abs(d).max())


def test_a_singular_problem_is_reported_not_solved():
    hessian = np.zeros((3, 3))
    hessian[0, 0] = 1.0
    f, solved = non_negative_qp(hessian, np.array([-1.0, -1.0, 0.0]))
    assert not solved
