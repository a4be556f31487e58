"""Convex hulls of sole corners and a point's distance outside them, compiled with Numba.

The unassisted controller asks for a hull of 8-16 sole corners several times every control step (the walking MPC's
support, push recovery's trigger) and once per reference step of a clip; the feasibility check and residual mode's
plausibility judge ask for a point's distance outside one (``distance_outside``); as NumPy and Python loops each cost 20-90 us,
compiled 2-3 us. The hull's arithmetic is scalar and in the order of the Python version it replaced (Andrew's monotone
chain on corners rounded to 1e-9 m, sorted by x then y): hulls come out bit-identical (``tests/test_hull.py`` compares
them with a plain-Python copy); distances and normals agree to rounding (1e-17 m). With pendulum.py and the compiled
sole corners (feasibility.py), `l2emg sim bench --json` in mode none went from 9.7x to 12.4x real time on its bow and
a dataset-1 walk from 5.1x to 5.7x (RESULTS.md, "Compiled geometry and pendulum kernels"; per part of the controller:
``docs/experiments/sim_profile.py``). Without Numba the same functions run as Python.
"""
from __future__ import annotations

import numpy as np

from envs.jit import compiled


@compiled
def _half_chain(pts: np.ndarray, reverse: bool, out: np.ndarray) -> int:
    """One chain of Andrew's monotone chain over ``pts`` (in order, or reversed) into ``out``; its length."""
    m, n = len(pts), 0
    for step in range(m):
        i = m - 1 - step if reverse else step
        qx, qy = pts[i, 0], pts[i, 1]
        while n >= 2 and ((out[n - 1, 0] - out[n - 2, 0]) * (qy - out[n - 2, 1])
                          - (out[n - 1, 1] - out[n - 2, 1]) * (qx - out[n - 2, 0])) <= 0:
            n -= 1
        out[n, 0], out[n, 1] = qx, qy
        n += 1
    return n


@compiled
def _chain(pts: np.ndarray) -> np.ndarray:
    """The counter-clockwise hull of ``pts`` (M, 2) sorted by x, then y (M >= 3): lower chain, then upper."""
    lower, upper = np.empty((len(pts), 2)), np.empty((len(pts), 2))
    nl, nu = _half_chain(pts, False, lower), _half_chain(pts, True, upper)
    out = np.empty((nl - 1 + nu - 1, 2))
    out[:nl - 1] = lower[:nl - 1]
    out[nl - 1:] = upper[:nu - 1]
    return out


@compiled
def _sorted_rounded(points: np.ndarray) -> np.ndarray:
    """``points`` (M, 2) rounded to 1e-9 and sorted by x, then y (two stable sorts: NumPy's lexsort order)."""
    pts = np.empty_like(points)
    np.round(points, 9, pts)
    pts = pts[np.argsort(pts[:, 1], kind="mergesort")]
    return pts[np.argsort(pts[:, 0], kind="mergesort")]


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Counter-clockwise hull of (M, 2) ``points`` (Andrew's monotone chain), without repeated or collinear
    points; fewer than three points come back as given (sorted)."""
    return _hull(np.ascontiguousarray(points, dtype=float).reshape(-1, 2))


@compiled
def _hull(points: np.ndarray) -> np.ndarray:
    """``convex_hull`` of contiguous float (M, 2) ``points``, callable from compiled code."""
    pts = _sorted_rounded(points)
    return pts if len(pts) < 3 else _chain(pts)


@compiled
def hull_edges(hull: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge vectors and unit outward normals of a counter-clockwise hull (``convex_hull``'s order)."""
    h = len(hull)
    edges, normals = np.empty((h, 2)), np.empty((h, 2))
    for i in range(h):
        j = i + 1 if i + 1 < h else 0
        ex, ey = hull[j, 0] - hull[i, 0], hull[j, 1] - hull[i, 1]
        edges[i, 0], edges[i, 1] = ex, ey
        length = max(np.sqrt(ey * ey + ex * ex), 1e-12)
        normals[i, 0], normals[i, 1] = ey / length, -ex / length
    return edges, normals


@compiled
def inner_halfplanes(hull: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A counter-clockwise ``hull`` as half-planes ``normals @ p <= offsets`` moved inside by ``margin``, or by less
    on a polygon too narrow (a convex set holds a disc of a third of its least width: at most 0.3 of that width), and
    the mean of its vertices."""
    _, normals = hull_edges(hull)
    h = len(hull)
    offsets = np.empty(h)
    least = np.inf
    for i in range(h):
        offsets[i] = normals[i, 0] * hull[i, 0] + normals[i, 1] * hull[i, 1]
        low = np.inf
        for j in range(h):
            low = min(low, normals[i, 0] * hull[j, 0] + normals[i, 1] * hull[j, 1])
        least = min(least, offsets[i] - low)
    centre = np.zeros(2)
    for i in range(h):
        centre[0] += hull[i, 0]
        centre[1] += hull[i, 1]
    return normals, offsets - min(margin, 0.3 * least), centre / h


@compiled
def _outside(point: np.ndarray, hull: np.ndarray) -> tuple[float, float, float]:
    """Signed distance of ``point`` outside a counter-clockwise ``hull`` (< 0 inside: minus the distance to the
    nearest edge) and the nearest point of its boundary (x, y)."""
    px, py = point[0], point[1]
    best, nx, ny, inside = np.inf, hull[0, 0], hull[0, 1], True
    h = len(hull)
    for i in range(h):
        ax, ay = hull[i, 0], hull[i, 1]
        j = i + 1 if i + 1 < h else 0
        ex, ey = hull[j, 0] - ax, hull[j, 1] - ay
        if ex * (py - ay) - ey * (px - ax) < 0:  # right of a counter-clockwise edge
            inside = False
        t = ((px - ax) * ex + (py - ay) * ey) / max(ex * ex + ey * ey, 1e-12)
        t = min(max(t, 0.0), 1.0)
        cx, cy = ax + t * ex, ay + t * ey
        dist = np.sqrt((px - cx) ** 2 + (py - cy) ** 2)
        if dist < best:
            best, nx, ny = dist, cx, cy
    return (-best if inside else best), nx, ny


@compiled
def hull_halfplanes(points: np.ndarray, margin: float) -> tuple[np.ndarray, np.ndarray]:
    """The convex hull of (M, 2) ``points`` as half-planes ``normals @ p <= offsets`` moved inside by ``margin``
    (``hull_edges``' outward normals; offsets normal . vertex - margin); none where the hull has no area."""
    hull = _hull(points)
    if len(hull) < 3:
        return np.zeros((0, 2)), np.zeros(0)
    _, normals = hull_edges(hull)
    offsets = np.empty(len(hull))
    for i in range(len(hull)):
        offsets[i] = (normals[i, 0] * hull[i, 0] + normals[i, 1] * hull[i, 1]) - margin
    return normals, offsets


@compiled
def points_outside(point: np.ndarray, points: np.ndarray) -> float:
    """``outside_distance(point, points)[0]`` in one compiled call for (M, 2) ``points`` spanning an area; +inf where
    their hull has fewer than three vertices (``outside_distance`` then measures to the nearest point)."""
    hull = _hull(points)
    return np.inf if len(hull) < 3 else _outside(point, hull)[0]


def distance_outside(hull: np.ndarray, p: np.ndarray) -> float:
    """Signed distance of ``p`` outside a counter-clockwise ``hull`` (``convex_hull``'s; <= 0 inside: minus the
    distance to the nearest edge; inf without area)."""
    if len(hull) < 3:
        return float("inf")
    return float(_outside(np.asarray(p, dtype=float), hull)[0])


def hull_distance(points: np.ndarray, p: np.ndarray) -> float:
    """Signed distance of ``p`` outside the convex hull of 2-D ``points`` (<= 0 inside, inf without area)."""
    return distance_outside(convex_hull(points), p)


def outside_distance(point: np.ndarray, polygon: np.ndarray) -> tuple[float, np.ndarray]:
    """How far a 2-D ``point`` lies outside the convex hull of ``polygon`` (M, 2) points (< 0 inside: minus
    the distance to the nearest edge) and the nearest point of that hull's boundary."""
    hull = convex_hull(polygon)
    if len(hull) < 3:
        nearest = polygon[np.argmin(np.linalg.norm(polygon - point, axis=1))]
        return float(np.linalg.norm(point - nearest)), nearest
    distance, x, y = _outside(np.asarray(point, dtype=float), hull)
    return float(distance), np.array((x, y))


def hull_with_area(points: np.ndarray) -> np.ndarray:
    """The counter-clockwise hull of (M, 2) points, with some area: a foot on an edge touches along a line, and a
    point or a line is widened by 2 mm each way."""
    hull = convex_hull(points)
    if len(hull) >= 3:
        return hull
    pad = np.array(((-1, -1), (-1, 1), (1, -1), (1, 1))) * 0.002
    return convex_hull((points[:, None, :] + pad[None]).reshape(-1, 2))
