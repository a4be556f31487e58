"""The whole-body controller's QP (envs/executor/qp.py): against BVLS, and its elimination through a low-rank
coupling."""
import numpy as np


def test_the_compiled_qp_solves_the_controllers_bounded_least_squares_like_bvls():
    """The QP with the accelerations eliminated (nnqp.py, else DAQP, on the forces' Schur complement) gives BVLS's solution on
    problems shaped like the controller's: 69 free accelerations, 40 non-negative forces, weights from 1e-4 to
    1e4 (cond ~1e11 unscaled); the torque-limited path (the full problem for DAQP) too when no limit binds."""
    from scipy.optimize import lsq_linear

    from envs.executor.qp import bounded_least_squares as _bounded_least_squares

    rng = np.random.default_rng(3)
    free, forces = 69, 40
    for trial in range(5):
        a = rng.normal(size=(150, free + forces))
        a[:6] *= 100.0 * rng.uniform(10, 60, size=(6, 1))  # the nearly hard floating-base rows
        a[-forces:] *= 1e-2  # force regularization
        b = rng.normal(size=150) * 10.0
        x = _bounded_least_squares(a, b, free)
        lower = np.r_[np.full(free, -np.inf), np.zeros(forces)]
        ref = lsq_linear(a, b, bounds=(lower, np.full(free + forces, np.inf)), method="bvls").x
        assert (x[free:] >= -1e-9).all()
        assert (x[free:] < 1e-9).any(), "the bounds should bind somewhere in this test"
        cost = lambda v: float(np.sum((a @ v - b) ** 2))  # noqa: E731
        assert cost(x) <= cost(ref) * (1 + 1e-9) + 1e-9, trial
        np.testing.assert_allclose(x, ref, atol=1e-5 * max(1.0, np.abs(ref).max()))
        loose = (np.eye(free + forces)[6:free], np.full(free - 6, -1e9), np.full(free - 6, 1e9))
        np.testing.assert_allclose(_bounded_least_squares(a, b, free, loose), ref, atol=1e-5 * max(1.0, np.abs(ref).max()))


def test_the_qp_eliminates_through_a_low_rank_coupling_to_the_same_solution():
    """Given the acceleration-force block as a rank-6 product (the controller's floating-base equations), the
    elimination with 7 right-hand sides gives what the full block gives (bounds binding and not)."""
    from envs.executor.qp import solve_qp

    rng = np.random.default_rng(5)
    free, forces = 69, 36
    for trial in range(4):
        base = rng.normal(size=(6, free)) * rng.uniform(1, 50, size=(6, 1))  # M_6
        columns = rng.normal(size=(6, forces))  # -G_6
        tasks = rng.normal(size=(40, free))
        w = 1e4
        hessian = np.zeros((free + forces, free + forces))
        dyn = np.hstack((base, columns))
        hessian += w * dyn.T @ dyn
        hessian[:free, :free] += tasks.T @ tasks + np.eye(free)
        hessian[free:, free:] += 1e-2 * np.eye(forces)
        gradient = rng.normal(size=free + forces) * 100.0
        full = solve_qp(hessian, gradient, free)
        low_rank = solve_qp(hessian, gradient, free, coupling=(w * base.T, columns))
        assert (full[free:] < 1e-9).any() and (full[free:] > 1e-6).any(), "some bounds bind, some not"
        np.testing.assert_allclose(low_rank, full, rtol=0, atol=1e-7 * np.abs(full).max())


def test_the_forces_fall_back_to_daqp_where_pivoting_does_not_solve(monkeypatch):
    """A problem block principal pivoting reports unsolved goes to DAQP: the same optimum."""
    import envs.executor.nnqp as nnqp
    from envs.executor.qp import _non_negative

    rng = np.random.default_rng(8)
    a = rng.normal(size=(30, 12))
    hessian, gradient = a.T @ a + 1e-6 * np.eye(12), -(a.T @ rng.normal(size=30)) * 5
    solved = _non_negative(hessian, gradient)
    monkeypatch.setattr(nnqp, "non_negative_qp", lambda h, g: (np.full(len(g), np.nan), False))
    fallback = _non_negative(hessian, gradient)
    assert np.isfinite(fallback).all() and (fallback >= -1e-12).all()  # DAQP: zero within rounding
    np.testing.assert_allclose(fallback, solved, atol=1e-6 * np.abs(solved).max())
