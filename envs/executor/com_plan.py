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

from envs.executor.feasibility import GRAVITY, reference_zmp, sole_corners
from envs.executor.hull import convex_hull, hull_edges
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
        hull = convex_hull(corners[:, :2])
        if len(hull) < 3:
            out.append(None)
            continue
        _, normals = hull_edges(hull)
        offsets = np.einsum("ij,ij->i", normals, hull) - margin
        out.append((normals, offsets))
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

    def violations(offset: np.ndarray) -> list[tuple[int, int, float]]:
        p = zmp + (zmp_map @ offset)
        rows = []
        for k, pl in enumerate(planes):
            if pl is None or np.isnan(zmp[k, 0]):
                continue
            normals, offsets = pl
            excess = normals @ p[k] - offsets
            for e in np.nonzero(excess > 1e-4)[0]:
                rows.append((k, int(e), float(excess[e])))
        return rows

    def worst(violated: list[tuple[int, int, float]]) -> float:
        return max((x for _, _, x in violated), default=0.0)

    offset = np.zeros((n, 2))
    violated = violations(offset)
    before = worst(violated)
    # Squared-hinge penalty solved by Newton steps on its active set (the half-planes violated by the
    # current solution, plus those still tight): the set settles within a few rounds; the least-violating
    # round is kept.
    best, best_worst, tight = offset, before, None
    for _ in range(config.rounds):
        keys = sorted({(k, e) for k, e, _ in violated} | (tight or set()))
        if not keys or set(keys) == tight:
            break
        normals = np.array([planes[k][0][e] for k, e in keys])
        bounds = np.array([planes[k][1][e] - normals[i] @ zmp[k] for i, (k, e) in enumerate(keys)])
        ks = np.array([k for k, _ in keys])
        sel = sp.csr_matrix((np.ones(len(keys)), (np.arange(len(keys)), ks)), shape=(len(keys), n))
        c = sp.hstack([sp.diags(normals[:, 0]) @ sel, sp.diags(normals[:, 1]) @ sel]).tocsr() @ zmap2
        x = spsolve((base + config.penalty * (c.T @ c)).tocsc(), config.penalty * (c.T @ bounds))
        offset = np.stack([x[:n], x[n:]], 1)
        # Half-planes the new solution satisfies with room to spare leave the set.
        p = zmp + zmp_map @ offset
        tight = {(k, e) for k, e in keys if planes[k][0][e] @ p[k] - planes[k][1][e] > -1e-4}
        violated = violations(offset)
        w = worst(violated)
        if w < best_worst:
            best, best_worst = offset, w
    return ComPlan(best, before, best_worst)
