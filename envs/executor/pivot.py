"""Pivot steps: a standing foot the clip turns on the spot is lifted and set down again, turned.

A clip may turn a foot while it stands: a spin or a twirl on the spot turns both flat soles with the body (the demo's
dance expert and synth-8's ``spin`` turn them by 130 degrees a second, both feet down throughout). The contact schedule
keeps such a foot standing, and the whole-body controller holds a standing sole still on the floor: the pelvis turned
with the clip, the feet did not, the legs twisted, and the body lost the clip within 2-4 s (every physical failure of
the dance expert in a demo run, RESULTS.md "Pivot steps"). A body cannot turn a loaded sole against the floor's
friction; a dancer turning on the spot shifts its weight and lifts, or unloads, the foot it turns. Here, where a flat
sole has turned by more than ``turn_deg`` since it was set down, it swings for ``swing_s`` while the other foot stands
throughout, and lands where the clip has it then (the swing's target is the clip's foot; its joints turn it). A sole
pitched onto its toes is not read (its heel-to-toe direction on the floor shrinks to nothing at push-off and turns
wildly: in walks that read as turns of 115-165 degrees), nor a foot the schedule does not hold flat.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PivotConfig:
    enabled: bool = False  # configs/executor.yaml decides
    turn_deg: float = 40.0  # degrees a flat standing sole may turn from where it was set down before it is lifted
    swing_s: float = 0.15  # s the foot swings to turn (the other foot standing throughout)
    level_share: float = 0.8  # a sole whose heel-to-toe length on the floor is below this share of its usual is pitched

    def __post_init__(self) -> None:
        if not (self.turn_deg > 0 and self.swing_s > 0 and 0 < self.level_share <= 1):
            raise ValueError(f"stepping.pivot: turn_deg and swing_s must be > 0 and level_share in (0, 1], got "
                             f"{self.turn_deg}, {self.swing_s}, {self.level_share}")


def sole_yaw(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) unwrapped heading of each sole on the floor (degrees, heel box to toe box) and (N, 2) its heel-to-toe
    length on the floor; ``corners``: (N, 2, 8, 3), per foot the heel box's four bottom corners, then the toe box's."""
    along = corners[:, :, 4:, :2].mean(axis=2) - corners[:, :, :4, :2].mean(axis=2)
    yaw = np.degrees(np.unwrap(np.arctan2(along[..., 1], along[..., 0]), axis=0))
    return yaw, np.linalg.norm(along, axis=-1)


def pivot_steps(stance: np.ndarray, flat: np.ndarray, corners: np.ndarray, dt: float,
                config: PivotConfig) -> tuple[np.ndarray, np.ndarray, int]:
    """Copies of the (N, 2) ``stance`` and ``flat`` flags with a swing of ``swing_s`` inserted wherever a flat standing
    sole has turned more than ``turn_deg`` since it was set down (its first level frame of the stance, or the end of
    its last pivot step), if the other foot stands over that swing and the frame after it; and the number inserted."""
    stance, flat = stance.copy(), flat.copy()
    n = len(stance)
    if n < 2:
        return stance, flat, 0
    yaw, length = sole_yaw(corners)
    level = flat & (length > config.level_share * np.median(length))
    swing = max(1, int(round(config.swing_s / dt)))
    base: list[float | None] = [None, None]
    inserted = 0
    for k in range(n):
        for f in range(2):
            if not stance[k, f]:
                base[f] = None  # lifted (by the clip or a pivot step): the next stance reads from its own start
                continue
            if not level[k, f]:
                continue
            if base[f] is None:
                base[f] = yaw[k, f]
            elif abs(yaw[k, f] - base[f]) > config.turn_deg and k + swing < n and stance[k:k + swing + 1, 1 - f].all():
                stance[k:k + swing, f] = False
                flat[k:k + swing, f] = False
                base[f] = None
                inserted += 1
    return stance, flat, inserted
