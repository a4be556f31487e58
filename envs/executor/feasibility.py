"""Can a reference be tracked without help? Its zero-moment point against the support of its own feet.

The free-floating inverse dynamics of the reference gives the wrench the ground would have to supply
at the root. Its zero-moment point (ZMP) is where the ground reaction's horizontal moment vanishes;
a body standing on flat feet can only produce a ZMP inside the convex hull of the soles in contact
(Vukobratovic). A reference whose ZMP leaves that hull asks for a pull or a push the floor cannot
give: in mode ``none`` no controller can track it with the feet where the clip puts them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.hull import hull_distance
from envs.executor.soles import sole_corners
from envs.executor.reference import Reference
from envs.quaternion import qrot

GRAVITY = 9.81


@dataclass(frozen=True)
class Feasibility:
    """Per control step: the reference ZMP (world xy) and how far it lies outside the support (m)."""

    zmp: np.ndarray  # (N, 2); NaN where the feet carry less than half the body weight (airborne, falling)
    outside_m: np.ndarray  # (N,) > 0 outside the soles' hull, <= 0 inside; inf with no sole on the floor; NaN unsupported

    def outside_fraction(self, tolerance: float) -> float:
        """Share of supported steps whose ZMP lies more than ``tolerance`` metres outside the support."""
        supported = ~np.isnan(self.outside_m)
        if not supported.any():
            return 0.0
        return float(np.mean(self.outside_m[supported] > tolerance))

    def summary(self, tolerance: float, max_fraction: float) -> dict:
        finite = self.outside_m[np.isfinite(self.outside_m)]
        frac = self.outside_fraction(tolerance)
        return {"zmp_outside_fraction": round(frac, 4),
                "zmp_outside_max_m": round(float(finite.max()), 4) if finite.size else None,
                "feasible": frac <= max_fraction}


def reference_zmp(ref: Reference, total_mass: float, smooth_s: float = 0.0) -> np.ndarray:
    """(N, 2) ZMP from the root wrench of the inverse dynamics; NaN where the vertical force is below half
    the body weight (the reference is not standing on anything). ``smooth_s``: Gaussian width (s) applied
    to the wrench first: accelerations of a clip interpolated from 30 fps come in spikes at its frames,
    and ground forces are not resolved finer than a frame anyway."""
    force = ref.qfrc[:, :3]
    r = ref.qpos[:, :3]
    # The free joint's torque is in the root's body frame (MuJoCo quaternions are w-first, like qrot's);
    # the moment about the world origin is what may be averaged over time (the root moves meanwhile).
    torque = qrot(ref.qpos[:, 3:7], ref.qfrc[:, 3:6]) + np.cross(r, force)
    if smooth_s > 0:
        from scipy.ndimage import gaussian_filter1d

        force = gaussian_filter1d(force, smooth_s / ref.dt, axis=0, mode="nearest")
        torque = gaussian_filter1d(torque, smooth_s / ref.dt, axis=0, mode="nearest")
    fz = force[:, 2]
    ok = fz > 0.5 * total_mass * GRAVITY
    safe = np.where(ok, fz, 1.0)
    # Zero horizontal moment about p = (px, py, 0) of a wrench (force, torque about the origin).
    px = -torque[:, 1] / safe
    py = torque[:, 0] / safe
    out = np.stack([px, py], 1)
    out[~ok] = np.nan
    return out


def sole_points(model, data, geoms: list[int], contact_height: float, max_gap: float = 0.1) -> np.ndarray:
    """World xy of the box-geom corners within ``contact_height`` of the lowest one, after mj_kinematics.

    Mocap stance feet often hover a few centimetres (the clip is grounded by its lowest frame only), so
    support is taken relative to the lowest corner; none when that corner is ``max_gap`` above the floor."""
    corners = sole_corners(model, data, geoms)
    low = corners[:, 2].min()
    if low > max_gap:
        return np.zeros((0, 2))
    return corners[corners[:, 2] < low + contact_height, :2]


def reference_feasibility(model, data, qadr: int, ref: Reference, foot_geoms: list[int], contact_height: float,
                          stride: int = 1, smooth_s: float = 0.0) -> Feasibility:
    """ZMP of ``ref`` and its distance outside the soles on the floor, every ``stride`` control steps.

    ``data`` is used as scratch (its qpos is overwritten): pass a spare MjData, not a running one."""
    import mujoco

    steps = np.arange(0, ref.num_steps, max(1, stride))
    mass = float(model.body_subtreemass[model.body_rootid[model.geom_bodyid[foot_geoms[0]]]])
    zmp = reference_zmp(ref, mass, smooth_s)[steps]
    outside = np.full(len(steps), np.nan)
    nq = ref.qpos.shape[1]
    for i, k in enumerate(steps):
        if np.isnan(zmp[i, 0]):
            continue
        data.qpos[qadr:qadr + nq] = ref.qpos[k]
        mujoco.mj_kinematics(model, data)
        pts = sole_points(model, data, foot_geoms, contact_height)
        outside[i] = hull_distance(pts, zmp[i]) if len(pts) >= 3 else float("inf")
    return Feasibility(zmp, outside)
