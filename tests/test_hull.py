"""The compiled geometry and pendulum kernels of the unassisted controller (envs/executor/hull.py, pendulum.py,
feasibility.sole_corners) against plain NumPy/Python versions of the same arithmetic."""
import numpy as np
import pytest

from envs.executor.hull import (convex_hull, distance_outside, hull_edges, inner_halfplanes, outside_distance,
                                points_outside)
from envs.executor.pendulum import pendulum_response


def _python_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain in plain Python (the version the compiled one replaced)."""
    pts = np.round(np.asarray(points, dtype=float), 9)
    pts = pts[np.lexsort((pts[:, 1], pts[:, 0]))].tolist()
    if len(pts) < 3:
        return np.array(pts).reshape(-1, 2)

    def half(seq):
        out: list = []
        for q in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (q[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (q[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(q)
        return out

    return np.array(half(pts)[:-1] + half(pts[::-1])[:-1])


def _point_sets():
    rng = np.random.default_rng(0)
    for trial in range(600):
        pts = rng.normal(size=(int(rng.integers(1, 24)), 2)) * 0.1
        if trial % 3 == 0:
            pts = np.round(pts, 2)  # repeated and collinear points
        if trial % 5 == 0:
            pts = np.concatenate([pts, pts[:3]])
        yield pts
    yield np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [1.0, 1.0], [1.0, 1.0]])  # collinear bottom edge, a repeat
    yield np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])  # a line: two points


def test_the_compiled_hull_is_bit_identical_to_the_python_chain():
    for pts in _point_sets():
        assert np.array_equal(convex_hull(pts), _python_hull(pts)), pts


def test_hull_edges_give_unit_outward_normals_and_the_halfplanes_hold_the_hull_moved_inside():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    hull = convex_hull(square[::-1])
    edges, normals = hull_edges(hull)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0)
    np.testing.assert_allclose(np.einsum("ij,ij->i", edges, normals), 0.0, atol=1e-15)
    centre = hull.mean(axis=0)
    assert (np.einsum("ij,ij->i", normals, hull - centre) > 0).all()
    normals2, offsets, middle = inner_halfplanes(hull, 0.1)
    np.testing.assert_allclose(middle, (0.5, 0.5))
    np.testing.assert_allclose(offsets, normals2 @ (0.5, 0.5) + 0.5 - 0.1)  # each edge 0.1 inside
    thin = convex_hull(np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 0.02], [0.0, 0.02]]))
    normals3, offsets, _ = inner_halfplanes(thin, 0.1)  # 2 cm wide: moved in by 0.3 of its width, 6 mm, not 0.1
    _, plain = inner_halfplanes(thin, 0.0)[:2]
    np.testing.assert_allclose(plain - offsets, 0.006, atol=1e-12)
    assert (normals3 @ np.array([0.5, 0.01]) <= offsets).all()  # its middle stays inside
    assert not (normals3 @ np.array([0.5, 0.003]) <= offsets).all()  # 3 mm from its edge no longer


def test_outside_distance_is_signed_and_names_the_nearest_boundary_point():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    d, p = outside_distance(np.array([0.5, 0.2]), square)
    assert d == pytest.approx(-0.2) and np.allclose(p, (0.5, 0.0))
    d, p = outside_distance(np.array([1.3, 1.4]), square)
    assert d == pytest.approx(0.5) and np.allclose(p, (1.0, 1.0))
    rng = np.random.default_rng(1)
    for pts in list(_point_sets())[:200]:
        hull = convex_hull(pts)
        if len(hull) < 3:
            continue
        q = rng.normal(size=2) * 0.15
        d, near = outside_distance(q, pts)
        # the nearest point by brute force over dense samples of the boundary
        t = np.linspace(0, 1, 2001)[:, None, None]
        samples = (hull[None] + t * (np.roll(hull, -1, axis=0) - hull)[None]).reshape(-1, 2)
        assert abs(d) == pytest.approx(np.linalg.norm(samples - q, axis=1).min(), abs=2e-4)
        _, normals = hull_edges(hull)
        inside = (np.einsum("ij,ij->i", q - hull, normals) <= 0).all()
        assert (d <= 0) == inside
        assert np.linalg.norm(near - q) == pytest.approx(abs(d), abs=1e-12)


def test_distance_outside_agrees_with_the_distance_to_the_nearest_edge_line_or_segment():
    rng = np.random.default_rng(2)
    for pts in list(_point_sets())[:300]:
        hull = convex_hull(pts)
        if len(hull) < 3:
            assert distance_outside(hull, np.zeros(2)) == float("inf")  # no area: no support
            assert points_outside(np.zeros(2), np.ascontiguousarray(pts, dtype=float)) == float("inf")
            continue
        q = rng.normal(size=2) * 0.15
        edges, normals = hull_edges(hull)
        lines = np.einsum("ij,ij->i", q - hull, normals)
        if lines.max() <= 0:  # inside a convex hull the nearest edge's line is the nearest boundary
            expected = lines.max()
        else:
            t = np.clip(np.einsum("ij,ij->i", q - hull, edges) / np.einsum("ij,ij->i", edges, edges), 0, 1)
            expected = np.linalg.norm(hull + t[:, None] * edges - q, axis=1).min()
        assert distance_outside(hull, q) == pytest.approx(expected, abs=1e-12)
        assert distance_outside(hull, q) == pytest.approx(outside_distance(q, pts)[0], abs=1e-15)
        assert points_outside(q, np.ascontiguousarray(pts)) == outside_distance(q, pts)[0]  # compiled, one call


def test_the_compiled_pendulum_matches_numpy_products():
    for w, n in ((3.3, 20), (2.9, 7), (4.1, 1)):
        t = 0.05
        ch, sh = np.cosh(w * t), np.sinh(w * t)
        a = np.array([[ch, sh / w], [w * sh, ch]])
        b = np.array([1.0 - ch, -w * sh])
        powers = [np.eye(2)]
        for _ in range(n):
            powers.append(a @ powers[-1])
        responses = np.array([powers[lag] @ b for lag in range(n)])
        lag = np.subtract.outer(np.arange(n), np.arange(n))
        gain = np.where((lag >= 0)[:, None, :], responses[np.maximum(lag, 0)].transpose(0, 2, 1), 0.0)
        tracking = 10.0 * gain[:, 0, :].T @ gain[:, 0, :] + 1.0 * gain[:, 1, :].T @ gain[:, 1, :]
        got = pendulum_response(w, t, n, 10.0, 1.0)
        np.testing.assert_allclose(got[0], np.array(powers[1:]), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got[1], gain, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got[2], tracking, rtol=1e-12, atol=1e-15)
        # and it is the pendulum: a ZMP held at the start position keeps a body at rest there
        x = got[0] @ np.array([0.3, 0.0]) + got[1] @ np.full(n, 0.3)
        np.testing.assert_allclose(x, np.tile([0.3, 0.0], (n, 1)), atol=1e-12)


def test_sole_corners_are_the_bottom_corners_of_the_rotated_boxes():
    import mujoco

    from envs.executor import TrackingExecutor
    from envs.executor.soles import feet_sole_corners, sole_corners

    ex = TrackingExecutor()
    m, d = ex.model, ex.data
    d.qpos[3:7] = (np.cos(0.2), 0.1, np.sin(0.2) * 0.5, 0.3)
    d.qpos[3:7] /= np.linalg.norm(d.qpos[3:7])
    mujoco.mj_kinematics(m, d)
    geoms = ex.foot_geoms
    signs = np.array([[-1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [1.0, -1.0, -1.0], [1.0, 1.0, -1.0]])
    rot = d.geom_xmat[geoms].reshape(-1, 3, 3)
    expected = (d.geom_xpos[geoms][:, None, :] + (m.geom_size[geoms][:, None, :3] * signs) @ rot.transpose(0, 2, 1)).reshape(-1, 3)
    np.testing.assert_allclose(sole_corners(m, d, geoms), expected, atol=1e-15)
    np.testing.assert_allclose(sole_corners(m, d, (geoms[1],)), expected[4:8], atol=1e-15)
    # both feet in one pass: per foot its heel box's then its toe box's corners, the same numbers
    both = feet_sole_corners(m, d, geoms)
    for f in range(2):
        np.testing.assert_array_equal(both[f], sole_corners(m, d, (geoms[f], geoms[f + 2])))


def test_hull_halfplanes_are_the_hull_edges_moved_in():
    """The compiled half-planes of a point set: hull_edges' normals and normal . vertex - margin, none without area."""
    from envs.executor.hull import hull_halfplanes

    for pts in list(_point_sets())[:200]:
        pts = np.ascontiguousarray(pts, dtype=float)
        hull = convex_hull(pts)
        normals, offsets = hull_halfplanes(pts, 0.02)
        if len(hull) < 3:
            assert len(normals) == len(offsets) == 0
            continue
        np.testing.assert_array_equal(normals, hull_edges(hull)[1])
        np.testing.assert_array_equal(offsets, np.einsum("ij,ij->i", normals, hull) - 0.02)
