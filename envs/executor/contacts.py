"""The stance feet's contact points as the whole-body QP sees them: per contact a friction pyramid of four edges,
each edge's generalized force one column of the QP (wholebody.py). Read straight from MuJoCo's contact arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.jit import compiled

# the pyramid's edges t1, -t1, t2, -t2 (rows: tangent 1, tangent 2; columns: the four edges)
EDGE_SIGNS = np.array([[1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0]])


@dataclass
class StanceContacts:
    points: np.ndarray  # (n, 3) world contact points
    pyramids: np.ndarray  # (n, 4, 3) unit-ish edge directions: n + mu t1, n - mu t1, n + mu t2, n - mu t2
    jacobians: np.ndarray  # (n, 3, nv) translational Jacobians of the points
    generalized: np.ndarray  # (nv, 4 n) each edge's generalized force per unit force, contact by contact

    @property
    def count(self) -> int:
        return len(self.points)


def foot_slots(ngeom: int, foot_geoms: list[int]) -> np.ndarray:
    """(ngeom + 1,) each geom's foot slot (left heel, right heel, left toes, right toes), -1 elsewhere (and for id -1)."""
    slot_of = np.full(ngeom + 1, -1)
    slot_of[foot_geoms] = np.arange(len(foot_geoms))
    return slot_of


def stance_contacts(model, d, slot_of: np.ndarray, support: np.ndarray, friction: float, dadr: int, nv: int,
                    jac_buffer: np.ndarray) -> StanceContacts:
    """The contacts of the feet ``support`` (2,) flags as standing, after ``mj_step1`` (``jac_buffer``: (3, model.nv))."""
    import mujoco

    used = np.zeros(0, dtype=int)
    if d.ncon:
        g1, g2 = d.contact.geom1, d.contact.geom2
        on_foot2 = slot_of[g2] >= 0
        geoms = np.where(on_foot2, g2, np.where(slot_of[g1] >= 0, g1, -1))
        used = np.flatnonzero((geoms >= 0) & support[slot_of[geoms] % 2])
    n = len(used)
    if not n:
        return StanceContacts(np.zeros((0, 3)), np.zeros((0, 4, 3)), np.zeros((0, 3, nv)), np.zeros((nv, 0)))
    points = d.contact.pos[used]
    frames = d.contact.frame[used].reshape(n, 3, 3)
    # The frame's normal points from geom1 to geom2: towards the foot when the foot is geom2.
    normals = np.where(on_foot2[used, None], frames[:, 0], -frames[:, 0])
    pyramids = normals[:, None, :] + friction * (EDGE_SIGNS.T @ frames[:, 1:])
    jacobians = np.empty((n, 3, nv))
    bodies = model.geom_bodyid[geoms[used]].tolist()
    if dadr == 0 and nv == model.nv:  # the humanoid is all the model has: MuJoCo writes the rows in place
        for j in range(n):
            mujoco.mj_jac(model, d, jacobians[j], None, points[j], bodies[j])
    else:
        for j in range(n):
            mujoco.mj_jac(model, d, jac_buffer, None, points[j], bodies[j])
            jacobians[j] = jac_buffer[:, dadr:dadr + nv]
    generalized = np.matmul(jacobians.transpose(0, 2, 1), pyramids.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(nv, 4 * n)
    return StanceContacts(points, pyramids, jacobians, generalized)


def geoms_on_floor(model, d, slot_of: np.ndarray) -> np.ndarray:
    """(4,) whether each foot geom touches the floor (the world body), not a limb: left heel, right heel, left toes,
    right toes."""
    if not d.ncon:
        return np.zeros(4, dtype=bool)
    return _on_floor(d.contact.geom1, d.contact.geom2, slot_of, model.geom_bodyid)


@compiled
def _on_floor(geom1: np.ndarray, geom2: np.ndarray, slot_of: np.ndarray, body: np.ndarray) -> np.ndarray:
    """geoms_on_floor's loop over the contacts (a NumPy version cost ~9 us a call, at every control step)."""
    touching = np.zeros(4, dtype=np.bool_)
    for i in range(len(geom1)):
        a, b = geom1[i], geom2[i]
        if slot_of[a] >= 0 and body[b] == 0:
            touching[slot_of[a]] = True
        if slot_of[b] >= 0 and body[a] == 0:
            touching[slot_of[b]] = True
    return touching
