"""Ankle-strategy balance for unassisted tracking: steer the ankles to keep the centre of mass on track.

A PD tracker alone has no notion of balance: small errors tip the body over. Standing humans
correct sway mostly at the ankles (Winter 1995); this adds to the ankle targets a feedback on the
centre-of-mass error in the heading frame (forward: pitch, sideways: roll). Only joint targets
change; no external force is applied, so the motion stays fully physical.
"""
from __future__ import annotations

import numpy as np

from envs.executor.config import BalanceGains
from envs.executor.reference import Reference
from envs.humanoid import HumanoidSpec


class AnkleBalance:
    def __init__(self, spec: HumanoidSpec, gains: BalanceGains) -> None:
        self.gains = gains
        names = spec.joint_names
        p = spec.prefix
        self.pitch = np.array([names.index(f"{p}l_ankle_x"), names.index(f"{p}r_ankle_x")])
        self.roll = np.array([names.index(f"{p}l_ankle_z"), names.index(f"{p}r_ankle_z")])
        self.prev_err: np.ndarray | None = None

    def reset(self) -> None:
        self.prev_err = None

    def correction(self, com: np.ndarray, ref: Reference, k: int, ctrl: np.ndarray) -> np.ndarray:
        """``ctrl`` (hinge targets) with the ankle corrections added, for control step ``k``."""
        g = self.gains
        quat = ref.qpos[k, 3:7]
        w, x, y, z = quat
        forward = np.array([1 - 2 * (y * y + z * z), 2 * (x * y + w * z)])  # body x axis on the floor
        forward /= max(np.linalg.norm(forward), 1e-9)
        left = np.array([-forward[1], forward[0]])
        err = com[:2] - ref.com[k, :2]
        vel = np.zeros(2) if self.prev_err is None else (err - self.prev_err) / ref.dt
        self.prev_err = err
        e_f, e_l = err @ forward, err @ left
        v_f, v_l = vel @ forward, vel @ left
        out = ctrl.copy()
        # COM ahead of the reference: plantarflex (positive ankle pitch) so the toes push it back.
        out[self.pitch] += np.clip(g.kp_pitch * e_f + g.kd_pitch * v_f, -g.limit, g.limit)
        # Sideways: the gain is negative in MuJoCo's frame (found by test; the positive sign tips it over).
        out[self.roll] += np.clip(g.kp_roll * e_l + g.kd_roll * v_l, -g.limit, g.limit)
        return out
