"""The angular rows of the centroidal momentum matrix (envs/executor/momentum.py) against MuJoCo's own angular momentum."""
import numpy as np

from envs.executor.momentum import angular_momentum_matrix
from helpers import dataset1_clip


def test_angular_momentum_matrix_matches_mujoco_for_two_humanoids():
    import mujoco

    from envs.humanoid import build_model

    model, specs = build_model(agents=[("a_", (0.0, 0.0, 1.0), "1 0 0 1"), ("b_", (2.0, 0.0, 1.0), "0 0 1 1")])
    d = mujoco.MjData(model)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d.qpos[:] = model.qpos0 + rng.normal(scale=0.3, size=model.nq)
        for j in range(model.njnt):  # normalise the free joints' quaternions
            if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE:
                a = model.jnt_qposadr[j] + 3
                d.qpos[a:a + 4] /= np.linalg.norm(d.qpos[a:a + 4])
        d.qvel[:] = rng.normal(scale=2.0, size=model.nv)
        mujoco.mj_step1(model, d)
        mujoco.mj_subtreeVel(model, d)
        for prefix in ("a_", "b_"):
            pelvis = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, prefix + "pelvis")
            free = model.body_jntadr[pelvis]
            a0 = model.jnt_dofadr[free]
            dofs = slice(a0, a0 + model.nv // 2)
            matrix = angular_momentum_matrix(model, d, dofs)
            expected = d.subtree_angmom[pelvis]
            assert np.linalg.norm(expected) > 1.0  # a state that moves
            np.testing.assert_allclose(matrix @ d.qvel[dofs], expected, rtol=1e-9, atol=1e-9)


def test_a_walk_is_walked_to_its_end_only_with_the_angular_momentum_damped(bandai_root, executor):
    """``walk_giant_001``: with the whole body's angular momentum damped around the clip's steps (shipped,
    ``wholebody.weight_angular_momentum``) the body walks it to the end; without, the QP folds the trunk forward (the
    hip strategy) and the clip is lost at ~2.5 s. On dataset-1's walks the setting is worth 49 -> 54 of 75 (+12 / -7),
    on dataset-2's 2,546 clips 2,185 -> 2,210 (+82 / -57; RESULTS.md, "Angular momentum damped around steps")."""
    import dataclasses

    from envs.executor import TrackingExecutor, load_executor_config

    motion = dataset1_clip(bandai_root, "walk_giant_001")
    assert executor.config.wholebody.weight_angular_momentum > 0  # the shipped configuration
    walked = executor.execute(motion, mode="none")
    assert walked.success, (walked.reason, walked.failed_at_s)
    cfg = load_executor_config()
    undamped = TrackingExecutor(dataclasses.replace(
        cfg, wholebody=dataclasses.replace(cfg.wholebody, weight_angular_momentum=0.0)))
    lost = undamped.execute(motion, mode="none")
    assert not lost.success and lost.reason == "tracking_lost"


def test_negative_angular_momentum_weight_is_refused():
    import pytest

    from envs.executor.wholebody_gains import WholeBodyGains

    with pytest.raises(ValueError, match="weight_angular_momentum"):
        WholeBodyGains(weight_angular_momentum=-1.0)


def test_momentum_rate_task_asks_the_contact_forces_moment_about_the_centre_of_mass():
    """``add_momentum_rate_task`` adds weight/2 |sum_i (p_i - c) x F_i - rate|^2 to the force block, F_i the force of
    contact i summed over its four pyramid edges: its gradient, recomputed contact by contact, and zero where the forces
    give the rate asked."""
    from envs.executor.momentum import add_momentum_rate_task

    rng = np.random.default_rng(3)
    n_c, weight = 5, 0.1
    points = rng.normal(size=(n_c, 3)) * (0.2, 0.1, 0.0)
    edges = rng.normal(size=(n_c, 4, 3)) * 0.3 + (0.0, 0.0, 1.0)
    edges /= np.linalg.norm(edges, axis=2, keepdims=True)
    com, rate = np.array([0.05, -0.02, 0.9]), rng.normal(size=3) * 20.0
    h, g = np.zeros((4 * n_c, 4 * n_c)), np.zeros(4 * n_c)
    add_momentum_rate_task(h, g, points, edges, com, rate, weight)
    np.testing.assert_allclose(h, h.T)
    assert np.linalg.eigvalsh(h).min() > -1e-9  # a convex term, of rank 3
    assert np.linalg.matrix_rank(h, tol=1e-9) == 3
    f = rng.uniform(0.0, 100.0, size=4 * n_c)
    forces = (f.reshape(n_c, 4, 1) * edges).sum(axis=1)  # per contact
    moment = np.cross(points - com, forces).sum(axis=0)
    np.testing.assert_allclose(h @ f + g, weight * np.cross(np.repeat(points - com, 4, axis=0),
                                                            edges.reshape(-1, 3)) @ (moment - rate), rtol=1e-9)
    h2, g2 = np.zeros_like(h), np.zeros_like(g)
    add_momentum_rate_task(h2, g2, points, edges, com, moment, weight)
    np.testing.assert_allclose(h2 @ f + g2, 0.0, atol=1e-9 * np.abs(g2).max())


def test_unknown_angular_momentum_form_is_refused():
    import pytest

    from envs.executor.wholebody_gains import WholeBodyGains

    with pytest.raises(ValueError, match="angular_momentum_form"):
        WholeBodyGains(angular_momentum_form="torques")


def test_moment_rows_are_numpys_cross_products_bit_for_bit():
    from envs.executor.cross import horizontal_moment, moment_rows

    rng = np.random.default_rng(5)
    arm, force = rng.normal(size=(64, 3)), rng.normal(size=(64, 3)) * 300.0
    assert np.array_equal(moment_rows(arm, force), np.cross(arm, force))
    assert np.array_equal(horizontal_moment(arm, force), np.cross(arm, force)[:, :2])
