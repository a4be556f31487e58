import itertools

import numpy as np
import pytest

from envs.quaternion import (cont6d_to_quat, euler_to_matrix, kabsch_rotation, matrix_to_euler, matrix_to_quat,
                             qbetween, qinv, qmul, qrot, quat_to_cont6d, quat_to_matrix, slerp)


def random_quats(rng, n):
    q = rng.normal(size=(n, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def test_matrix_quat_round_trip(rng):
    q = random_quats(rng, 500)
    back = matrix_to_quat(quat_to_matrix(q))
    assert np.allclose(np.abs(np.sum(back * q, axis=-1)), 1.0, atol=1e-9)


def test_qrot_matches_matrix_and_inverse(rng):
    q, v = random_quats(rng, 100), rng.normal(size=(100, 3))
    assert np.allclose(qrot(q, v), np.einsum("nij,nj->ni", quat_to_matrix(q), v))
    assert np.allclose(qrot(qinv(q), qrot(q, v)), v)
    a, b = random_quats(rng, 100), random_quats(rng, 100)
    assert np.allclose(qrot(qmul(a, b), v), qrot(a, qrot(b, v)))


@pytest.mark.parametrize("order", ["".join(p) for p in itertools.permutations("XYZ")])
def test_euler_round_trip_every_order(order, rng):
    angles = rng.uniform(-80, 80, size=(200, 3))
    m = euler_to_matrix(angles, order)
    assert np.allclose(matrix_to_euler(m, order), angles, atol=1e-8)


def test_euler_order_is_intrinsic_product():
    m = euler_to_matrix(np.array([30.0, 40.0, 50.0]), "ZXY")
    expected = euler_to_matrix(np.array([30.0, 0, 0]), "ZXY") @ euler_to_matrix(np.array([0, 40.0, 0]), "ZXY") @ euler_to_matrix(np.array([0, 0, 50.0]), "ZXY")
    assert np.allclose(m, expected)


def test_qbetween_maps_u_to_v_including_opposite(rng):
    u, v = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    v[0] = -u[0]
    q = qbetween(u, v)
    out = qrot(q, u / np.linalg.norm(u, axis=-1, keepdims=True))
    assert np.allclose(out, v / np.linalg.norm(v, axis=-1, keepdims=True), atol=1e-7)


def test_cont6d_round_trip(rng):
    q = random_quats(rng, 100)
    assert np.allclose(np.abs(np.sum(cont6d_to_quat(quat_to_cont6d(q)) * q, -1)), 1.0, atol=1e-9)


def test_kabsch_recovers_rotation(rng):
    q = random_quats(rng, 10)
    pts = rng.normal(size=(4, 3))
    dst = qrot(q[:, None], np.broadcast_to(pts, (10, 4, 3)))
    assert np.allclose(kabsch_rotation(pts, dst), quat_to_matrix(q), atol=1e-9)


def test_slerp_endpoints_and_midpoint(rng):
    a, b = random_quats(rng, 20), random_quats(rng, 20)
    assert np.allclose(np.abs(np.sum(slerp(a, b, np.zeros(20)) * a, -1)), 1)
    assert np.allclose(np.abs(np.sum(slerp(a, b, np.ones(20)) * b, -1)), 1)
    mid = slerp(a, b, np.full(20, 0.5))
    ang = lambda x, y: np.arccos(np.clip(np.abs(np.sum(x * y, -1)), 0, 1))
    assert np.allclose(ang(a, mid), ang(mid, b), atol=1e-7)
