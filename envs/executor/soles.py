"""Where the feet's sole boxes are: their bottom corners in the world, from MuJoCo's geom poses (after its kinematics).

Compiled: called at every control step (push recovery, the walking MPC) and at every step of every reference pass."""
from __future__ import annotations

import numpy as np

from envs.jit import compiled


@compiled
def box_bottom_corners(xpos: np.ndarray, xmat: np.ndarray, size: np.ndarray, geoms: np.ndarray) -> np.ndarray:
    """(4 G, 3) world bottom corners of box geoms ``geoms`` from MjData's geom_xpos and geom_xmat (row-major
    rotations) and MjModel's geom_size (half sizes), in the order (-x -y), (-x +y), (+x -y), (+x +y) per box."""
    out = np.empty((4 * len(geoms), 3))
    for i in range(len(geoms)):
        g = geoms[i]
        for c in range(4):
            lx = size[g, 0] if c >= 2 else -size[g, 0]
            ly = size[g, 1] if c % 2 == 1 else -size[g, 1]
            lz = -size[g, 2]
            for r in range(3):
                out[4 * i + c, r] = xpos[g, r] + (lx * xmat[g, 3 * r] + ly * xmat[g, 3 * r + 1] + lz * xmat[g, 3 * r + 2])
    return out


def sole_corners(model, data, geoms) -> np.ndarray:
    """World positions (4 per box geom) of the bottom corners of the given box geoms, after mj_kinematics."""
    return box_bottom_corners(data.geom_xpos, data.geom_xmat, model.geom_size, np.asarray(geoms, dtype=np.int64))


def by_foot(foot_geoms) -> np.ndarray:
    """The four sole boxes (left heel, right heel, left toes, right toes) foot by foot: left heel, left toes, right
    heel, right toes, as box_bottom_corners takes them for ``feet_sole_corners``' layout."""
    g = foot_geoms
    return np.array([g[0], g[2], g[1], g[3]], dtype=np.int64)


def feet_sole_corners(model, data, foot_geoms) -> np.ndarray:
    """(2, 8, 3) both feet's sole corners in one pass, after mj_kinematics: per foot (left, right) what
    ``sole_corners`` gives for its (heel box, toe box). ``foot_geoms``: left heel, right heel, left toes, right toes."""
    return corners_by_foot(model, data, by_foot(foot_geoms))


def corners_by_foot(model, data, boxes: np.ndarray) -> np.ndarray:
    """``feet_sole_corners`` for the four boxes already in ``by_foot``'s order (made once by a caller that asks at
    every control step)."""
    return box_bottom_corners(data.geom_xpos, data.geom_xmat, model.geom_size, boxes).reshape(2, 8, 3)


def feet_along(model, data, qadr: int, qpos: np.ndarray, foot_geoms, with_corners: bool
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """Along generalized positions ``qpos`` (N, nq; the humanoid's from ``qadr``), one kinematics pass each in ``data``:
    (N, 2, 3) the two heel boxes' centres and, ``with_corners``, (N, 2, 8, 3) both feet's sole corners
    (``feet_sole_corners``' layout). ``foot_geoms``: left heel, right heel, left toes, right toes."""
    import mujoco

    n, nq, boxes, heel_geoms = len(qpos), qpos.shape[1], by_foot(foot_geoms), list(foot_geoms[:2])
    heels = np.zeros((n, 2, 3))
    corners = np.zeros((n, 2, 8, 3)) if with_corners else None
    for k in range(n):
        data.qpos[qadr:qadr + nq] = qpos[k]
        mujoco.mj_kinematics(model, data)
        heels[k] = data.geom_xpos[heel_geoms]
        if corners is not None:
            corners[k] = corners_by_foot(model, data, boxes)
    return heels, corners
