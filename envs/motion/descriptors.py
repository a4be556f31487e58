"""Interpretable body-expression descriptors of joint positions (the cues of DESIGN §4)."""
from __future__ import annotations

import numpy as np

from envs.skeleton import JOINT_INDEX as J


def body_cues(positions: np.ndarray, fps: float) -> dict[str, float]:
    """Head height over the pelvis (m), mean joint speed (m/s), mean jerk (m/s^3), signed forward trunk
    lean (deg), shoulder height relative to the neck (m) and lateral wrist distance from the pelvis (m),
    for positions (T, 22, 3)."""
    p = np.asarray(positions, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (22, 3) or len(p) < 4:
        raise ValueError(f"body_cues needs positions of shape (T>=4, 22, 3), got {p.shape}")
    vel = np.diff(p, axis=0) * fps
    jerk = np.diff(p, n=3, axis=0) * fps**3
    across = (p[:, J["l_hip"]] - p[:, J["r_hip"]]) + (p[:, J["l_shoulder"]] - p[:, J["r_shoulder"]])
    across[:, 1] = 0.0
    across /= np.maximum(np.linalg.norm(across, axis=-1, keepdims=True), 1e-9)
    forward = np.cross(across, np.array([0.0, 1.0, 0.0]))  # left x up = forward (body faces +Z, left is +X)
    trunk = p[:, J["neck"]] - p[:, J["pelvis"]]
    lean = np.degrees(np.arctan2(np.sum(trunk * forward, axis=-1), trunk[:, 1]))  # + forward, - backward
    lateral = np.abs(np.sum((p[:, [J["l_wrist"], J["r_wrist"]]] - p[:, [J["pelvis"]]]) * across[:, None], axis=-1))
    return {
        "head_height": float(np.mean(p[:, J["head"], 1] - p[:, J["pelvis"], 1])),
        "speed": float(np.mean(np.linalg.norm(vel, axis=-1))),
        "jerk": float(np.mean(np.linalg.norm(jerk, axis=-1))),
        "trunk_lean": float(np.mean(lean)),
        "shoulder_elevation": float(np.mean(p[:, [J["l_shoulder"], J["r_shoulder"]], 1] - p[:, [J["neck"]], 1])),
        "arm_spread": float(np.mean(lateral)),
    }
