"""How much help from outside the floor a reference needs: the residual mode's plausibility measure.

The free-floating inverse dynamics of a reference gives, per control step, the wrench the world must
apply at the root for the body to move as the clip says (gravity included). The floor can supply part
of it, and only part: a push (never a pull) through the soles that touch it, tangential force inside
the friction cone, and a moment only as far as the zero-moment point stays on the soles (Vukobratovic).
What is left is the assistance the motion needs: a force (pull, or sliding beyond friction; the whole
wrench when no sole is near the floor) and a torque (the push times the distance the ZMP lies outside
the soles' hull). Both are given as fractions of the body weight m g; the torque divided by m g is a
length, the lever arm at which the body weight would have to act (metres).

Why not the force the residual weld actually applied: on real mocap the weld and the floor fight each
other (a stance foot a few millimetres off the reference, a sole pressed into the floor), so the weld's
force measures that fight, not what the motion needs (see ``configs/executor.yaml`` ``plausibility``
for the figures). Both are reported; the judgement reads this one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.feasibility import GRAVITY
from envs.executor.soles import sole_corners
from envs.executor.hull import convex_hull, distance_outside
from envs.executor.reference import Reference
from envs.quaternion import qrot


@dataclass(frozen=True)
class PlausibilityConfig:
    """Residual mode: the assistance above which a motion is physically implausible (calibration in the YAML)."""

    enabled: bool = True
    max_force_bw: float = 0.2  # needed force / (m g), averaged over the worst force_window_s of the clip
    force_window_s: float = 0.5
    max_torque_bw_m: float = 0.3  # needed torque / (m g) in metres, averaged over the worst torque_window_s
    torque_window_s: float = 2.0
    contact_height: float = 0.05  # m above the floor (or the lowest sole corner) that still bears weight
    max_gap: float = 0.1  # m: with the lowest sole corner higher than this, no foot is on the floor
    smooth_s: float = 0.05  # s, Gaussian on the wrench (clips interpolated from 20-30 fps have spiky accelerations)
    stride: int = 3  # control steps between evaluations

    def __post_init__(self) -> None:
        for name in ("max_force_bw", "force_window_s", "max_torque_bw_m", "torque_window_s", "contact_height", "max_gap"):
            if not getattr(self, name) > 0:
                raise ValueError(f"plausibility.{name} must be positive, got {getattr(self, name)}")
        if self.smooth_s < 0 or self.stride < 1:
            raise ValueError("plausibility.smooth_s must be >= 0 and plausibility.stride >= 1")


@dataclass(frozen=True)
class Assistance:
    """Every ``dt`` seconds, the help the reference needs beyond the floor (fractions of m g)."""

    force_bw: np.ndarray  # (K,) force / (m g)
    torque_bw_m: np.ndarray  # (K,) torque / (m g), metres
    dt: float

    def worst(self, values: np.ndarray, window_s: float) -> float:
        """The largest mean of ``values`` over ``window_s`` (the whole clip's mean when it is shorter)."""
        if not len(values):
            return float("nan")
        n = max(1, int(round(window_s / self.dt)))
        if len(values) <= n:
            return float(values.mean())
        return float(np.convolve(values, np.ones(n) / n, mode="valid").max())

    def stats(self, config: "PlausibilityConfig") -> dict[str, float]:
        """Mean, 95th percentile and worst window of the force and torque (keys as in PhysicsMetrics, less ``needed_``)."""
        out = {}
        for name, v, window in (("force_bw", self.force_bw, config.force_window_s),
                                ("torque_bw_m", self.torque_bw_m, config.torque_window_s)):
            out[name] = float(v.mean()) if len(v) else float("nan")
            out[f"{name}_p95"] = float(np.percentile(v, 95)) if len(v) else float("nan")
            out[f"{name}_worst"] = self.worst(v, window)
        return out

    def implausible(self, config: "PlausibilityConfig") -> str | None:
        """Why the motion needs more help than a human body gets from the floor, or None."""
        force = self.worst(self.force_bw, config.force_window_s)
        torque = self.worst(self.torque_bw_m, config.torque_window_s)
        if force > config.max_force_bw:
            return (f"needs {force:.2f} body weights of force from outside the floor over {config.force_window_s} s "
                    f"(limit {config.max_force_bw})")
        if torque > config.max_torque_bw_m:
            return (f"needs a torque of {torque:.2f} m x body weight the soles cannot give over {config.torque_window_s} s "
                    f"(limit {config.max_torque_bw_m})")
        return None


def needed_assistance(model, data, qadr: int, ref: Reference, foot_geoms: list[int], config: PlausibilityConfig) -> Assistance:
    """The assistance ``ref`` needs beyond what the floor can give (see the module docstring).

    ``data`` is scratch (its qpos is overwritten): pass a spare MjData, not the running one."""
    import mujoco

    mass = float(model.body_subtreemass[model.body_rootid[model.geom_bodyid[foot_geoms[0]]]])
    weight = mass * GRAVITY
    mu = _friction(model, foot_geoms)
    force = ref.qfrc[:, :3]  # free joint: world-frame force; its torque is in the root's frame
    com = ref.com if ref.com is not None else ref.qpos[:, :3]
    torque = qrot(ref.qpos[:, 3:7], ref.qfrc[:, 3:6]) + np.cross(ref.qpos[:, :3], force)  # about the world origin
    if config.smooth_s > 0:
        force = _gaussian(force, config.smooth_s / ref.dt)
        torque = _gaussian(torque, config.smooth_s / ref.dt)
    steps = np.arange(0, ref.num_steps, config.stride)
    out_f, out_t = np.zeros(len(steps)), np.zeros(len(steps))
    nq = ref.qpos.shape[1]
    for i, k in enumerate(steps):
        data.qpos[qadr:qadr + nq] = ref.qpos[k]
        mujoco.mj_kinematics(model, data)
        corners = sole_corners(model, data, foot_geoms)
        low = corners[:, 2].min()
        f, m = force[k], torque[k]
        if low > config.max_gap:  # nothing touches the floor: all of the wrench is help (zero in ballistic flight)
            out_f[i] = np.linalg.norm(f)
            out_t[i] = np.linalg.norm(m - np.cross(com[k], f))
            continue
        # Within contact_height of the floor or of the lowest corner (a grounded clip's toe-off may
        # press 3 cm into the floor while the heel striking ahead is 1 cm above it: both bear weight).
        support = corners[corners[:, 2] < max(low, 0.0) + config.contact_height, :2]
        push = max(float(f[2]), 0.0)
        slide = max(0.0, float(np.hypot(f[0], f[1])) - mu * push)
        out_f[i] = np.hypot(max(-float(f[2]), 0.0), slide)
        out_t[i] = _moment_outside(support, f, m, push)
    return Assistance(out_f / weight, out_t / weight, config.stride * ref.dt)


def _moment_outside(support: np.ndarray, f: np.ndarray, m: np.ndarray, push: float) -> float:
    """The push times the distance its ZMP lies outside the support hull: the moment the soles cannot give."""
    if push <= 1e-9:
        return 0.0
    # Zero horizontal moment about p = (px, py, 0) of the wrench (f, m about the origin).
    zmp = np.array([-m[1] / push, m[0] / push])
    hull = convex_hull(support)
    if len(hull) >= 3:
        d = distance_outside(hull, zmp)
    else:  # a sole on one edge: the distance to that segment (or point)
        a, b = hull[0], hull[-1]
        t = np.clip(np.dot(zmp - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0.0, 1.0)
        d = float(np.linalg.norm(a + t * (b - a) - zmp))
    return push * max(d, 0.0)


def _friction(model, foot_geoms: list[int]) -> float:
    """Sliding friction of a sole on the floor: MuJoCo takes the larger of the two geoms' coefficients."""
    import mujoco

    planes = [g for g in range(model.ngeom) if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_PLANE]
    return float(max(model.geom_friction[g, 0] for g in list(foot_geoms) + planes))


def _gaussian(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0, edges padded with the end values."""
    if sigma <= 0:
        return x
    r = int(np.ceil(4 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.concatenate([np.repeat(x[:1], r, 0), x, np.repeat(x[-1:], r, 0)])
    return np.stack([np.convolve(pad[:, j], k, mode="valid") for j in range(x.shape[1])], axis=1)
