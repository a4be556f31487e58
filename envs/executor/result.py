"""What one execution produced: the simulated trajectory, a verdict and the physics metrics of DESIGN §6."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from envs.motion.motion import Motion


@dataclass
class PhysicsMetrics:
    mpjpe_mm: float = float("nan")  # global joint position error vs the reference
    mpjpe_root_rel_mm: float = float("nan")  # after removing the root (pelvis) offset
    residual_force_n: float = 0.0  # mean norm of the root force the assistance supplied
    residual_torque_nm: float = 0.0
    foot_skating_cm: float = float("nan")  # horizontal foot travel per 20 fps frame while in contact
    penetration_cm: float = float("nan")  # mean deepest floor penetration
    jerk: float = float("nan")  # mean joint jerk of the simulated motion (m/s^3)
    max_deviation_m: float = float("nan")  # worst per-frame mean joint deviation
    # Residual mode: the assistance the weld applied, as a fraction of the body weight m g (torque / (m g)
    # is a lever arm in metres); 0 in the other modes. Mostly the weld fighting the floor (assistance.py).
    residual_force_bw: float = 0.0
    residual_force_bw_p95: float = 0.0
    residual_torque_bw_m: float = 0.0
    residual_torque_bw_m_p95: float = 0.0
    # Residual mode: the assistance the motion needs beyond what the floor can give (assistance.py):
    # mean, 95th percentile and the worst window the plausibility judgement reads; NaN in other modes.
    needed_force_bw: float = float("nan")
    needed_force_bw_p95: float = float("nan")
    needed_force_bw_worst: float = float("nan")
    needed_torque_bw_m: float = float("nan")
    needed_torque_bw_m_p95: float = float("nan")
    needed_torque_bw_m_worst: float = float("nan")
    # Mode none: the factor the body's first velocity was scaled by for a capturable standing start (start.py)
    start_velocity_scale: float = 1.0
    # Mode none: decisions the look-ahead made along the clip, and how many changed the stepping variant (lookahead.py)
    lookahead_decisions: int = 0
    lookahead_switches: int = 0


@dataclass
class ExecutionResult:
    success: bool
    # ok | fell | tracking_lost | unstable | implausible_assistance (residual mode) | nan_reference |
    # floating_reference | sinking_reference | teleporting_reference (sanity.py) | no_motion |
    # invalid_motion | executor_error (the agent's services)
    reason: str
    mode: str
    duration_s: float  # of the reference
    simulated_s: float  # until the end or the failure
    wall_s: float
    metrics: PhysicsMetrics = field(default_factory=PhysicsMetrics)
    positions: np.ndarray | None = None  # simulated joint positions (T, 22, 3) at ``fps``, data frame (Y up)
    fps: float = 20.0
    failed_at_s: float | None = None
    detail: str | None = None  # what exactly was wrong, for a failure that is not the simulation's
    _trajectory: Motion | None = field(default=None, repr=False)

    @classmethod
    def failed(cls, reason: str, mode: str, duration_s: float = 0.0, detail: str | None = None,
               failed_at_s: float | None = None, wall_s: float = 0.0, fps: float = 20.0) -> "ExecutionResult":
        """A failure decided without simulating (bad input, a missing motion, a lost executor): nothing simulated."""
        return cls(success=False, reason=reason, mode=mode, duration_s=duration_s, simulated_s=0.0, wall_s=wall_s,
                   fps=fps, failed_at_s=failed_at_s, detail=detail)

    def forget_trajectory(self) -> None:
        """Drop the cached IK trajectory (recomputed on demand from ``positions``): keeps a message small."""
        self._trajectory = None

    @property
    def trajectory(self) -> Motion | None:
        """The simulated motion (rotations by IK, computed on first use)."""
        if self._trajectory is None and self.positions is not None and len(self.positions) >= 2:
            # Rigid bodies keep the skeleton's bone lengths, so the IK is exact.
            self._trajectory = Motion.from_positions(self.positions, self.fps)
        return self._trajectory

    @property
    def realtime_factor(self) -> float:
        return self.simulated_s / self.wall_s if self.wall_s > 0 else float("inf")

    def summary(self) -> dict:
        out = {k: v for k, v in asdict(self).items() if k not in ("positions", "_trajectory", "metrics")}
        out["metrics"] = {k: (None if isinstance(v, float) and not np.isfinite(v) else round(float(v), 4))
                          for k, v in asdict(self.metrics).items()}
        out["realtime_factor"] = round(self.realtime_factor, 2)
        return out
