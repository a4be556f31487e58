"""Gains, task weights and rates of the whole-body controller (wholebody.py; ``wholebody:`` in configs/executor.yaml)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class WholeBodyGains:
    """Gains (1/s^2, 1/s) and task weights of the whole-body controller (mode ``none``)."""

    kp_joint: float = 400.0
    kd_joint: float = 40.0
    kp_com: float = 15.0
    kd_com: float = 8.0
    kp_root_orientation: float = 300.0
    kd_root_orientation: float = 35.0
    kp_root_position: float = 150.0
    kd_root_position: float = 25.0
    kp_foot_height: float = 1000.0  # pulls a stance sole down to the floor
    kp_foot_flat: float = 1000.0
    kd_foot: float = 50.0
    contact_damping: float = 20.0  # 1/s on contact-point velocity
    weight_com: float = 100.0  # horizontal; the vertical gets weight_com_vertical
    weight_com_vertical: float = 1.0
    weight_root_orientation: float = 10.0
    weight_root_position: float = 0.1
    weight_foot: float = 300.0
    weight_contact: float = 100.0
    weight_centre_of_pressure: float = 0.0  # 1/(N m)^2: the contact forces' moment about the walking MPC's ZMP
    # the whole body's angular momentum about its centre of mass damped (its rate asked as -kd_angular_momentum times
    # it), weight per (kg m^2/s^2)^2 (0: off); only around the clip's steps unless angular_momentum_always
    weight_angular_momentum: float = 0.0
    kd_angular_momentum: float = 10.0
    angular_momentum_always: bool = False
    # acceleration: a task A qacc = rate (A' qvel left out) | forces: the contact forces' moment about the centre of mass
    # (momentum.add_momentum_rate_task), none in a flight
    angular_momentum_form: str = "acceleration"
    weight_dynamics: float = 1e4
    force_regularization: float = 1e-4
    friction: float = 0.7  # friction-pyramid slope, below the floor's 1.0 for a margin
    sole_penetration: float = 0.002  # m the soles are asked to press into the (soft) floor
    smooth_s: float = 0.03  # s, Gaussian on reference accelerations (spiky between mocap frames)
    # s, Gaussian on the reference velocities the joints' and the pelvis's PD damp towards while the clip stands (0:
    # the interpolated ones, which jump at every clip frame); around the clip's steps they are the clip's own
    velocity_smooth_s: float = 0.0
    anchor_s: float = 0.5  # s, time constant with which the balance targets follow where the stance feet really are (0: off)
    solve_hz: float = 60.0  # the QP's rate; between solves the actuators hold its joint torques
    hold_impedance: bool = True  # between solves, also pull the joints back onto the solve's planned path
    implicit_damping: bool = True  # add h D qacc to the torques: the implicit integrator's damping (see control)
    torque_limits: bool = False  # the solve keeps every joint torque within its actuator's force range
    # from 0.1 s before the clip lifts a foot to 0.1 s after it lands (its own schedule, not push recovery's steps): the
    # QP weight of a hinge's PD by its name without the side (``knee_x`` for l_knee_x and r_knee_x); the others, and
    # every hinge otherwise, 1
    joint_weight_stepping: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.joint_weight_stepping.items() if not v > 0}
        if bad:
            raise ValueError(f"joint_weight_stepping must be positive, got {bad}")
        if not self.weight_angular_momentum >= 0:
            raise ValueError(f"weight_angular_momentum must be >= 0 (0: off), got {self.weight_angular_momentum}")
        if self.angular_momentum_form not in ("acceleration", "forces"):
            raise ValueError(f"angular_momentum_form must be acceleration or forces, got {self.angular_momentum_form!r}")
        if not self.velocity_smooth_s >= 0:
            raise ValueError(f"velocity_smooth_s must be >= 0 (0: off), got {self.velocity_smooth_s}")
        if not self.weight_centre_of_pressure >= 0:
            raise ValueError(f"weight_centre_of_pressure must be >= 0 (0: off), got {self.weight_centre_of_pressure}")

    def hinge_weights(self, names: list[str]) -> np.ndarray:
        """(len(names),) each hinge's weight in ``joint_weight_stepping``; an entry naming no hinge is an error (a
        typo would otherwise leave the weights as they were)."""
        unsided = [n[2:] if n[:2] in ("l_", "r_") else n for n in names]
        unknown = sorted(set(self.joint_weight_stepping) - set(unsided))
        if unknown:
            raise ValueError(f"wholebody.joint_weight_stepping: no hinge named {unknown[0]!r} (hinges: {', '.join(sorted(set(unsided)))})")
        return np.array([self.joint_weight_stepping.get(n, 1.0) for n in unsided])
