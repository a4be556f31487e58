"""What one tracked clip is measured by (tracker.py's ExecutionResult.metrics): joint errors against the reference,
the assistance it was given, foot skating, penetration and jerk."""
from __future__ import annotations

import numpy as np

from envs.executor.reference import Reference
from envs.executor.result import PhysicsMetrics
from envs.skeleton import FOOT_CLEARANCE

_FOOT_JOINTS = list(FOOT_CLEARANCE)
_FOOT_CLEARANCE = np.array([FOOT_CLEARANCE[j] for j in _FOOT_JOINTS])


def clip_metrics(ref: Reference, sim: np.ndarray, wrench: np.ndarray, penetration: np.ndarray, fps: float,
                 any_step: bool, weight: float, contact_height: float) -> PhysicsMetrics:
    """``sim`` (n, J, 3): the simulated joints at the reference's first n control steps; ``wrench`` (n, 2): the
    assistance's force and torque norms; ``penetration``: the deepest floor penetration where checked (m); ``fps``: the
    clip's frame rate (skating and jerk are read at it); ``weight``: the body's (N); ``contact_height``: m above a
    foot joint's flat clearance that counts as in contact. Defaults where no step ran."""
    if not any_step:
        return PhysicsMetrics()
    n = len(sim)
    target = ref.positions[:n]
    err = np.linalg.norm(sim - target, axis=-1)
    rel = np.linalg.norm((sim - sim[:, :1]) - (target - target[:, :1]), axis=-1)
    step = max(1, int(round(1.0 / (ref.dt * fps))))
    coarse = sim[::step]
    feet = coarse[:, _FOOT_JOINTS]
    contact = feet[:-1, :, 2] < _FOOT_CLEARANCE + contact_height
    slide = np.linalg.norm(np.diff(feet[..., :2], axis=0), axis=-1)
    jerk = np.linalg.norm(np.diff(coarse, n=3, axis=0), axis=-1).mean() * fps**3 if len(coarse) > 3 else float("nan")
    return PhysicsMetrics(
        mpjpe_mm=float(err.mean() * 1000), mpjpe_root_rel_mm=float(rel.mean() * 1000),
        residual_force_n=float(wrench[:, 0].mean()), residual_torque_nm=float(wrench[:, 1].mean()),
        foot_skating_cm=float(slide[contact].mean() * 100) if contact.any() else 0.0,
        penetration_cm=float(penetration.mean() * 100), jerk=float(jerk),
        max_deviation_m=float(err.mean(axis=1).max()),
        residual_force_bw=float(wrench[:, 0].mean() / weight),
        residual_force_bw_p95=float(np.percentile(wrench[:, 0], 95) / weight),
        residual_torque_bw_m=float(wrench[:, 1].mean() / weight),
        residual_torque_bw_m_p95=float(np.percentile(wrench[:, 1], 95) / weight))
