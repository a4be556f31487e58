"""A centre-of-mass path the soles can carry: the divergent component of motion planned over the contact schedule.

A clip's own centre of mass, on this body, asks the floor for a ZMP outside the soles on 34-87 % of the
steps of Bandai's walks (RESULTS.md): tracked exactly, it cannot be followed. Here the clip's ZMP of the
linear inverted pendulum, ``r = x - x'' / omega^2``, is moved into the support polygon of the schedule's
standing sole corners at every step (kept where nothing stands: a flight), and the divergent component of
motion ``xi = x + x' / omega`` is integrated backwards from the clip's last one through ``xi' = omega (xi - r)``
(Englsberger et al. 2015: backwards, the unstable pendulum is stable), then the centre of mass forwards from
the clip's first one through ``x' = omega (xi - x)``. Where the clip's ZMP lies on its soles the plan is the
clip's own path; where it does not, the path leans on the edge of the support instead, and the
divergent component arriving at the next footstep says how far the body has to be caught.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.hull import convex_hull, hull_edges

GRAVITY = 9.81


@dataclass
class DcmPlan:
    com: np.ndarray  # (N, 2) horizontal centre of mass
    vel: np.ndarray  # (N, 2)
    acc: np.ndarray  # (N, 2), the pendulum's: omega^2 (com - cop)
    cop: np.ndarray  # (N, 2) the centre of pressure the plan leans on
    dcm: np.ndarray  # (N, 2)
    omega: np.ndarray  # (N,)
    moved: np.ndarray  # (N,) m the clip's ZMP was moved to reach the support


def project_into_hull(points: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The point of the convex hull of 2-D ``points`` nearest to ``p`` (``p`` itself when inside)."""
    if len(points) == 0:
        return p
    hull = convex_hull(points)
    if len(hull) == 1:
        return hull[0].astype(float)
    if len(hull) == 2:
        a, e = hull[0], hull[1] - hull[0]
        t = np.clip((p - a) @ e / max(e @ e, 1e-12), 0.0, 1.0)
        return a + t * e
    edges, normals = hull_edges(hull)
    if np.einsum("ij,ij->i", p[None] - hull, normals).max() <= 0:
        return p
    t = np.clip(np.einsum("ij,ij->i", p[None] - hull, edges) / np.maximum(np.einsum("ij,ij->i", edges, edges), 1e-12), 0, 1)
    nearest = hull + t[:, None] * edges
    return nearest[np.argmin(np.linalg.norm(nearest - p[None], axis=1))]


def plan_dcm(com: np.ndarray, com_vel: np.ndarray, com_acc: np.ndarray, support: list[np.ndarray], dt: float) -> DcmPlan:
    """``com``, ``com_vel``, ``com_acc``: (N, 3) of the clip; ``support``: per step the (M, 2) standing sole
    points (empty in flight)."""
    n = len(com)
    omega = np.sqrt(GRAVITY / np.maximum(com[:, 2], 0.3))
    zmp = com[:, :2] - com_acc[:, :2] / omega[:, None] ** 2
    cop = np.array([project_into_hull(support[k], zmp[k]) for k in range(n)])
    moved = np.linalg.norm(cop - zmp, axis=1)
    dcm = np.zeros((n, 2))
    dcm[-1] = com[-1, :2] + com_vel[-1, :2] / omega[-1]
    for k in range(n - 2, -1, -1):
        decay = np.exp(-omega[k] * dt)
        dcm[k] = cop[k] + (dcm[k + 1] - cop[k]) * decay
    x = np.zeros((n, 2))
    x[0] = com[0, :2]
    for k in range(n - 1):
        decay = np.exp(-omega[k] * dt)
        x[k + 1] = dcm[k] + (x[k] - dcm[k]) * decay
    vel = omega[:, None] * (dcm - x)
    acc = omega[:, None] ** 2 * (x - cop)
    return DcmPlan(x, vel, acc, cop, dcm, omega, moved)
