"""A centre-of-mass path the floor can carry: the reference's, shifted just enough to keep its ZMP on the soles.

Mocap gestures often ask the floor for a zero-moment point (ZMP) outside the feet: a lean past the
toes, a weight shift that comes late before a step, a hop's landing. Tracked as is, the whole-body
controller can only compromise, and the compromise tips a foot onto an edge. Like the dynamics
filters used to make captured motion physically consistent (Yamane and Nakamura 2003) and ZMP preview
control (Kajita et al. 2003), this plans a horizontal centre-of-mass offset ``dc(t)`` before tracking:
as small and smooth as possible such that the ZMP it produces, ``p_ref + dc - h dc''`` with the
cart-table height factor ``h = z / (g + z'')``, lies inside the stance soles' hull (shrunk by a
margin) at every supported step. The whole-body controller then follows ``com_ref + dc``.

The problem is a quadratic programme with one pair of variables per control step; it is solved as a
sequence of sparse least-squares problems whose violated half-planes become stiff penalties (an
active set that only grows), which converges in a few rounds for these sizes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.feasibility import GRAVITY, reference_zmp
from envs.executor.soles import sole_corners
from envs.executor.hull import hull_halfplanes
from envs.executor.reference import Reference


@dataclass(frozen=True)
class ComPlanConfig:
    enabled: bool = True
    margin: float = 0.02  # m inside the soles' hull the planned ZMP must stay
    weight_offset: float = 1.0  # cost of the offset itself (m^-2)
    weight_velocity: float = 0.05  # cost of its rate (s^2/m^2): the offset fades in ahead of need
    weight_acceleration: float = 0.0005  # cost of its acceleration (s^4/m^2)
    penalty: float = 1e6  # weight of a violated support half-plane
    rounds: int = 12
    smooth_s: float = 0.03  # s, Gaussian on the reference's root wrench (as the feasibility check)


@dataclass(frozen=True)
class ComPlan:
    offset: np.ndarray  # (N, 2) horizontal centre-of-mass offset (m, world xy)
    outside_before_m: float  # worst distance of the reference ZMP outside the shrunk support
    outside_after_m: float  # the same for the planned ZMP (should be ~0)


def support_halfplanes(model, data, qadr: int, ref: Reference, stance: np.ndarray, foot_geoms: list[int],
                       margin: float) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per control step, (normals (E, 2), offsets (E,)) with ``normals @ p <= offsets`` inside the stance
    soles' hull shrunk by ``margin``; None where no foot stands."""
    import mujoco

    out: list = []
    nq = ref.qpos.shape[1]
    for k in range(ref.num_steps):
        feet = [f for f in range(2) if stance[k, f]]
        if not feet:
            out.append(None)
            continue
        if ref.feet is not None:  # read in the pass that built the reference (the hull does not depend on their order)
            corners = ref.feet.soles[k, feet].reshape(-1, 3)
        else:
            data.qpos[qadr:qadr + nq] = ref.qpos[k]
            mujoco.mj_kinematics(model, data)
            corners = sole_corners(model, data, [foot_geoms[f] for f in feet] + [foot_geoms[f + 2] for f in feet])
        normals, offsets = hull_halfplanes(np.ascontiguousarray(corners[:, :2]), margin)
        out.append((normals, offsets) if len(offsets) else None)
    return out


def plan_com(model, data, qadr: int, ref: Reference, stance: np.ndarray, foot_geoms: list[int],
             config: ComPlanConfig) -> ComPlan:
    """The smallest smooth centre-of-mass offset that puts ``ref``'s ZMP inside its stance support."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    n, dt = ref.num_steps, ref.dt
    if n < 3:
        return ComPlan(np.zeros((n, 2)), 0.0, 0.0)
    mass = float(model.body_subtreemass[model.body_rootid[model.geom_bodyid[foot_geoms[0]]]])
    zmp = reference_zmp(ref, mass, config.smooth_s)
    planes = support_halfplanes(model, data, qadr, ref, stance, foot_geoms, config.margin)
    z = ref.com[:, 2]
    zdd = np.gradient(np.gradient(z, dt), dt)
    h = z / np.maximum(GRAVITY + zdd, 0.5 * GRAVITY)
    eye = sp.identity(n, format="csr")
    d1 = sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n)) / dt
    d2 = sp.diags([np.ones(n - 2), -2 * np.ones(n - 2), np.ones(n - 2)], [0, 1, 2], shape=(n - 2, n)) / dt**2
    # Second differences at every step (zero rows at the ends) for the ZMP map p = p_ref + dc - h dc''.
    d2_full = sp.vstack([sp.csr_matrix((1, n)), d2, sp.csr_matrix((1, n))]).tocsr()
    zmp_map = (eye - sp.diags(h) @ d2_full).tocsr()  # (n, n): per axis
    smooth = (config.weight_offset * eye + config.weight_velocity * (d1.T @ d1)
              + config.weight_acceleration * (d2.T @ d2))
    base = sp.block_diag([smooth, smooth]).tocsc()
    zmap2 = sp.block_diag([zmp_map, zmp_map]).tocsr()  # maps [dcx; dcy] to [dpx; dpy]

    # Every step's half-planes in one table, steps in order and each step's edges in order (the order of the
    # (step, edge) pairs the active set sorts by): step, normal, offset per row; rows of steps without a ZMP dropped.
    rows = [(k, pl) for k, pl in enumerate(planes) if pl is not None and not np.isnan(zmp[k, 0])]
    step = np.concatenate([np.full(len(pl[1]), k) for k, pl in rows]) if rows else np.zeros(0, dtype=int)
    normal = np.concatenate([pl[0] for _, pl in rows]) if rows else np.zeros((0, 2))
    offset_of = np.concatenate([pl[1] for _, pl in rows]) if rows else np.zeros(0)

    def excess(offset: np.ndarray, which: np.ndarray | slice = slice(None)) -> np.ndarray:
        """How far the ZMP of ``offset`` lies beyond the half-planes ``which`` (rows of the table)."""
        p = zmp + zmp_map @ offset
        at = p[step[which]]
        return normal[which, 0] * at[:, 0] + normal[which, 1] * at[:, 1] - offset_of[which]

    def violations(offset: np.ndarray) -> np.ndarray:
        """The rows violated by more than 0.1 mm, and by how much."""
        beyond = excess(offset)
        violated = np.flatnonzero(beyond > 1e-4)
        return violated, beyond[violated]

    offset = np.zeros((n, 2))
    violated, amount = violations(offset)
    before = float(amount.max(initial=0.0))
    # Squared-hinge penalty solved by Newton steps on its active set (the half-planes violated by the
    # current solution, plus those still tight): the set settles within a few rounds; the least-violating
    # round is kept.
    best, best_worst, tight = offset, before, None
    for _ in range(config.rounds):
        keys = np.union1d(violated, tight) if tight is not None else violated  # sorted rows: (step, edge) order
        if not len(keys) or (tight is not None and np.array_equal(keys, tight)):
            break
        normals = normal[keys]
        ks = step[keys]
        bounds = offset_of[keys] - (normals[:, 0] * zmp[ks, 0] + normals[:, 1] * zmp[ks, 1])
        sel = sp.csr_matrix((np.ones(len(keys)), (np.arange(len(keys)), ks)), shape=(len(keys), n))
        c = sp.hstack([sp.diags(normals[:, 0]) @ sel, sp.diags(normals[:, 1]) @ sel]).tocsr() @ zmap2
        x = spsolve((base + config.penalty * (c.T @ c)).tocsc(), config.penalty * (c.T @ bounds))
        offset = np.stack([x[:n], x[n:]], 1)
        # Half-planes the new solution satisfies with room to spare leave the set.
        tight = keys[excess(offset, keys) > -1e-4]
        violated, amount = violations(offset)
        w = float(amount.max(initial=0.0))
        if w < best_worst:
            best, best_worst = offset, w
    return ComPlan(best, before, best_worst)
