"""The stance feet's contact points as the whole-body QP sees them: per contact a friction pyramid of four edges,
each edge's generalized force one column of the QP (wholebody.py). Read straight from MuJoCo's contact arrays."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.jit import compiled



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


@dataclass(frozen=True)
class DofChains:
    """Per foot slot (left heel, right heel, left toes, right toes) the dofs that move its geom's body, from the body's
    last dof back to the root (``mj_jac``'s chain through ``dof_parentid``), padded with -1; and the root body."""

    dofs: np.ndarray  # (4, model.nv) int64
    counts: np.ndarray  # (4,) int64
    root: int  # the body whose subtree centre of mass the Jacobians are taken about (the humanoid's root)


def dof_chains(model, foot_geoms: list[int]) -> DofChains:
    """The ``DofChains`` of the four foot geoms of one humanoid."""
    dofs, counts = np.full((len(foot_geoms), model.nv), -1, dtype=np.int64), np.zeros(len(foot_geoms), dtype=np.int64)
    for slot, geom in enumerate(foot_geoms):
        body = int(model.geom_bodyid[geom])
        while body and not model.body_dofnum[body]:  # a welded body moves with its parent's dofs
            body = int(model.body_parentid[body])
        chain, i = [], int(model.body_dofadr[body] + model.body_dofnum[body] - 1) if body else -1
        while i >= 0:
            chain.append(i)
            i = int(model.dof_parentid[i])
        dofs[slot, :len(chain)], counts[slot] = chain, len(chain)
    return DofChains(dofs, counts, int(model.body_rootid[model.geom_bodyid[foot_geoms[0]]]))


def stance_contacts(d, slot_of: np.ndarray, support: np.ndarray, friction: float, dadr: int, nv: int,
                    chains: DofChains) -> StanceContacts:
    """The contacts of the feet ``support`` (2,) flags as standing, after ``mj_step1``; their Jacobians over the dofs
    ``dadr`` .. ``dadr + nv`` (``chains``: ``dof_chains`` of the same foot geoms as ``slot_of``)."""
    if d.ncon:
        contact = d.contact
        found = _stance_arrays(contact.geom1, contact.geom2, contact.pos, contact.frame, slot_of, support, chains.dofs,
                               chains.counts, d.cdof, d.subtree_com[chains.root], dadr, nv, friction)
        if len(found[0]):
            return StanceContacts(*found)
    return StanceContacts(np.zeros((0, 3)), np.zeros((0, 4, 3)), np.zeros((0, 3, nv)), np.zeros((nv, 0)))


@compiled
def _stance_arrays(geom1: np.ndarray, geom2: np.ndarray, pos: np.ndarray, frame: np.ndarray, slot_of: np.ndarray,
                   support: np.ndarray, dofs: np.ndarray, counts: np.ndarray, cdof: np.ndarray, root_com: np.ndarray,
                   dadr: int, nv: int, friction: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """stance_contacts' arrays (points, pyramids, Jacobians, generalized columns) from MuJoCo's contact fields in one
    compiled call (three calls and the rows gathered in NumPy cost ~5 us more at every solve)."""
    used, foot_geoms, on_foot2 = _stance_rows(geom1, geom2, slot_of, support)
    n = len(used)
    points, frames, slots = np.empty((n, 3)), np.empty((n, 9)), np.empty(n, dtype=np.int64)
    for j in range(n):
        points[j] = pos[used[j]]
        frames[j] = frame[used[j]]
        slots[j] = slot_of[foot_geoms[j]]
    jacobians = point_jacobians(points, slots, dofs, counts, cdof, root_com, dadr, nv)
    pyramids, generalized = _pyramid_columns(frames, on_foot2, jacobians, friction)
    return points, pyramids, jacobians, generalized


@compiled
def point_jacobians(points: np.ndarray, slots: np.ndarray, dofs: np.ndarray, counts: np.ndarray, cdof: np.ndarray,
                    root_com: np.ndarray, dadr: int, nv: int) -> np.ndarray:
    """(n, 3, nv) the translational Jacobians of ``points`` (n, 3), each on the foot body of its slot in ``slots``, over
    the dofs ``dadr`` .. ``dadr + nv``: ``mj_jac``'s arithmetic from the motion axes ``cdof`` (after ``mj_comPos``),
    the same numbers bit for bit, in one compiled pass (mj_jac point by point from Python cost ~1.5 us a contact)."""
    out = np.zeros((len(points), 3, nv))
    for j in range(len(points)):
        o0, o1, o2 = points[j, 0] - root_com[0], points[j, 1] - root_com[1], points[j, 2] - root_com[2]
        s = slots[j]
        for q in range(counts[s]):
            i = dofs[s, q]
            c = i - dadr
            if c < 0 or c >= nv:
                continue
            a0, a1, a2 = cdof[i, 0], cdof[i, 1], cdof[i, 2]
            out[j, 0, c] = cdof[i, 3] + (a1 * o2 - a2 * o1)  # the linear part plus angular x offset (mju_cross)
            out[j, 1, c] = cdof[i, 4] + (a2 * o0 - a0 * o2)
            out[j, 2, c] = cdof[i, 5] + (a0 * o1 - a1 * o0)
    return out


@compiled
def _stance_rows(geom1: np.ndarray, geom2: np.ndarray, slot_of: np.ndarray, support: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The contacts on a standing foot: their rows in MuJoCo's contact list, the foot geom of each and whether the
    foot is the contact's geom2 (the other geom then geom1)."""
    rows = np.empty(len(geom1), dtype=np.int64)
    geoms = np.empty(len(geom1), dtype=np.int64)
    second = np.empty(len(geom1), dtype=np.bool_)
    n = 0
    for i in range(len(geom1)):
        if slot_of[geom2[i]] >= 0:
            geom, is_second = geom2[i], True
        elif slot_of[geom1[i]] >= 0:
            geom, is_second = geom1[i], False
        else:
            continue
        if support[slot_of[geom] % 2]:
            rows[n], geoms[n], second[n] = i, geom, is_second
            n += 1
    return rows[:n], geoms[:n], second[:n]


@compiled
def _pyramid_columns(frames: np.ndarray, on_foot2: np.ndarray, jacobians: np.ndarray, friction: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per contact (``frames``: (n, 9) MuJoCo's contact frames, row-major: normal, tangent 1, tangent 2) its pyramid's
    four edges n + mu t1, n - mu t1, n + mu t2, n - mu t2 (the normal turned towards the foot: the frame's points from
    geom1 to geom2) and each edge's generalized force J' e, one column per edge: (n, 4, 3), (nv, 4 n)."""
    n, nv = len(frames), jacobians.shape[2]
    pyramids = np.empty((n, 4, 3))
    generalized = np.empty((nv, 4 * n))
    for j in range(n):
        sign = 1.0 if on_foot2[j] else -1.0
        for r in range(3):
            normal = sign * frames[j, r]
            pyramids[j, 0, r] = normal + friction * frames[j, 3 + r]
            pyramids[j, 1, r] = normal - friction * frames[j, 3 + r]
            pyramids[j, 2, r] = normal + friction * frames[j, 6 + r]
            pyramids[j, 3, r] = normal - friction * frames[j, 6 + r]
        for c in range(nv):
            x, y, z = jacobians[j, 0, c], jacobians[j, 1, c], jacobians[j, 2, c]
            for e in range(4):
                generalized[c, 4 * j + e] = x * pyramids[j, e, 0] + y * pyramids[j, e, 1] + z * pyramids[j, e, 2]
    return pyramids, generalized


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
