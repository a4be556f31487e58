"""The whole-body controller's QP: on the whole matrix (envs/executor/qp.py) against BVLS, and by blocks
(envs/executor/qp_blocks.py) against the whole matrix."""
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


def _blocks_problem(rng, nv: int = 69, nf: int = 40, rows: int = 50):
    """A controller-shaped problem by blocks: the arguments of assemble_blocks and the NumPy Hessian it stands for."""
    joint_weight, joint_target = rng.uniform(0.5, 2.0, nv), rng.normal(size=nv) * 10
    mass = rng.normal(size=(nv, nv))
    mass6 = np.ascontiguousarray((mass @ mass.T)[:6])
    forces6 = rng.normal(size=(6, nf))
    bias6 = rng.normal(size=6) * 100
    task_rows, weights, targets = rng.normal(size=(rows, nv)), rng.uniform(1, 300, rows), rng.normal(size=rows) * 5
    moment = rng.normal(size=(nf, 2)) * 0.1
    w, reg, w_moment = 1e4, 1e-3, 50.0
    dyn = np.hstack((mass6, forces6))  # the floating base's equations, written whole
    hessian = w * dyn.T @ dyn
    gradient = w * dyn.T @ bias6
    hessian[:nv, :nv] += np.diag(joint_weight) + (task_rows.T * weights) @ task_rows
    gradient[:nv] += -joint_weight * joint_target - (task_rows.T * weights) @ targets
    hessian[nv:, nv:] += reg * np.eye(nf) + w_moment * moment @ moment.T
    args = (joint_weight, joint_target, mass6, bias6, forces6, task_rows, weights, targets, w, reg, moment, w_moment)
    return args, hessian, gradient, (np.ascontiguousarray(w * mass6.T), forces6)


def test_the_blocks_are_the_whole_problem_and_solve_to_its_optimum():
    """qp_blocks: the assembled blocks are the NumPy Hessian's, and the compiled elimination with pivoting gives
    solve_qp's optimum on the whole matrix (bounds binding and not)."""
    from envs.executor.qp import solve_qp
    from envs.executor.qp_blocks import assemble_blocks, solve_blocks, whole_problem

    rng = np.random.default_rng(12)
    for _ in range(6):
        args, hessian, gradient, coupling = _blocks_problem(rng)
        blocks = assemble_blocks(*args)
        whole, whole_gradient = whole_problem(*blocks, *coupling)
        scale = np.abs(hessian).max()
        np.testing.assert_allclose(whole, hessian, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(whole_gradient, gradient, rtol=0, atol=1e-10 * np.abs(gradient).max())
        nf = len(blocks[3])
        x, solved = solve_blocks(*blocks, *coupling, np.ones(nf, dtype=bool))
        reference = solve_qp(hessian, gradient, 69)
        assert solved and (x[69:] >= 0).all()
        assert (reference[69:] < 1e-9).any() and (reference[69:] > 1e-6).any(), "some bounds bind, some not"
        np.testing.assert_allclose(x, reference, rtol=0, atol=1e-7 * np.abs(reference).max())
        # pivoting from another free set (the controller's warm start) reaches the same optimum; from the optimum's
        # own free set, the same numbers
        for start in (np.zeros(nf, dtype=bool), rng.random(nf) < 0.5, x[69:] > 0):
            again, solved = solve_blocks(*blocks, *coupling, start)
            assert solved
            np.testing.assert_allclose(again, x, rtol=0, atol=1e-9 * np.abs(x).max())
        np.testing.assert_array_equal(solve_blocks(*blocks, *coupling, x[69:] > 0)[0], x)


def test_the_seven_column_triangular_solves_are_the_general_ones_bit_for_bit():
    from envs.executor.qp_blocks import _cholesky_solve, _cholesky_solve_7

    rng = np.random.default_rng(3)
    a = rng.normal(size=(69, 69))
    low = np.linalg.cholesky(a @ a.T + 69.0 * np.eye(69))
    rhs = rng.normal(size=(69, 7))
    np.testing.assert_array_equal(_cholesky_solve_7(low, rhs), _cholesky_solve(low, rhs))
    np.testing.assert_allclose(low @ (low.T @ _cholesky_solve_7(low, rhs)), rhs, atol=1e-10)


def test_the_blocks_without_forces_solve_the_accelerations_alone():
    from envs.executor.qp import solve_qp
    from envs.executor.qp_blocks import assemble_blocks, solve_blocks

    args, hessian, gradient, coupling = _blocks_problem(np.random.default_rng(4), nf=0)
    x, solved = solve_blocks(*assemble_blocks(*args), *coupling, np.ones(0, dtype=bool))
    assert solved and x.shape == (69,)
    reference = solve_qp(hessian, gradient, 69)
    np.testing.assert_allclose(x, reference, rtol=0, atol=1e-7 * np.abs(reference).max())


def test_an_acceleration_block_not_positive_definite_is_a_linalg_error():
    import pytest

    from envs.executor.qp_blocks import solve_blocks

    with pytest.raises(np.linalg.LinAlgError):
        solve_blocks(-np.eye(3), np.ones(3), np.eye(2), np.ones(2), np.ones((3, 1)), np.ones((1, 2)), np.ones(2, dtype=bool))
