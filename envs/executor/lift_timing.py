"""Lift-off timing: a foot the clip lifts stays down while the body is not yet where the clip is when it lifts it.

The swing feet follow the clip's contact schedule: a foot lifts at the clip's lift-off whatever the body's state. A
body that lags its clip lifts its rear foot with its capture point (DCM, ``c + v / omega``; Englsberger et al. 2015)
still behind the front foot, where no centre of pressure on that foot can carry it forward: over a long single
support it falls back onto the swing foot's landing, and the lag grows step by step until the clip is lost
(dataset-1_walk-right_proud_001 at 2.32 s: the body's capture point 4.3 cm behind the clip's, measured from the
front foot each, then the body slowed from 0.59 to 0.13 m/s over a 0.75 s single support while the clip went on at
0.4-0.9 m/s, and it lost the clip at 3.23 s). A walker in that state keeps pushing with the rear foot a moment
longer. Here, for at most ``hold_s`` after the clip lifts a foot, the foot stays support (its contact points held
still, the walking MPC free to put the centre of pressure on it) while, along the line from that foot to the other,
the body's capture point measured from the other foot lies more than ``margin`` behind the clip's measured from the
clip's other foot. The swing then starts late and catches up with the clip's swing (its progress is the clip's).
Only the clip's own lifts wait (the controller asks within 0.1 s of the clip's steps): push recovery's steps, taken
because the body is off its clip, must not.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class LiftTimingConfig:
    hold_s: float = 0.0  # s after the clip's lift-off a foot may stay down (0: off, the clip's timing)
    margin: float = 0.0  # m the body's capture point may lag the clip's before the lift waits
    min_spread: float = 0.05  # m between the soles' centres below which there is no line from one to the other

    def __post_init__(self) -> None:
        if not (self.hold_s >= 0 and self.min_spread > 0):
            raise ValueError(f"stepping.lift: hold_s must be >= 0 s (0: off) and min_spread > 0 m, got "
                             f"{self.hold_s}, {self.min_spread}")


def capture_lag(dcm: np.ndarray, lifting: np.ndarray, other: np.ndarray, clip_dcm: np.ndarray,
                clip_lifting: np.ndarray, clip_other: np.ndarray, min_spread: float) -> float | None:
    """m the body's capture point ``dcm`` lies behind the clip's ``clip_dcm``, each measured from its own ``other``
    sole's centre along the line from its ``lifting`` sole's centre to that one (all (2,) on the floor); None where
    either pair of soles is closer than ``min_spread``."""
    along, clip_along = other - lifting, clip_other - clip_lifting
    n, clip_n = float(np.linalg.norm(along)), float(np.linalg.norm(clip_along))
    if n < min_spread or clip_n < 1e-6:
        return None
    return float((clip_dcm - clip_other) @ clip_along / clip_n - (dcm - other) @ along / n)


def held_lifts(config: LiftTimingConfig, k: int, dt: float, support: np.ndarray, was_support: np.ndarray,
               stance: np.ndarray, lifted_at: np.ndarray, touching: np.ndarray,
               sole_centres: Callable[[], np.ndarray], clip_sole_centres: np.ndarray, dcm: np.ndarray,
               clip_dcm: np.ndarray) -> np.ndarray:
    """(2,) the feet to keep as support at reference step ``k`` although the clip has lifted them: supporting at the
    last control step (``was_support``), lifted at ``lifted_at[k, f]`` no more than ``hold_s`` ago, touching the floor
    (``touching``: heel boxes, then toe boxes), the other foot standing in the clip and supporting (``support``), and
    the body's capture point lagging the clip's by more than ``margin`` (``capture_lag``). ``sole_centres``: gives
    the body's (2, 2) sole centres now (called only for a candidate); ``clip_sole_centres``: the clip's (2, 2) at k."""
    held = np.zeros(2, dtype=bool)
    for f in range(2):
        o = 1 - f
        if support[f] or stance[k, f] or not (stance[k, o] and support[o] and was_support[f]):
            continue
        if lifted_at[k, f] < 0 or (k - lifted_at[k, f]) * dt > config.hold_s or not (touching[f] or touching[f + 2]):
            continue
        soles = sole_centres()
        lag = capture_lag(dcm, soles[f], soles[o], clip_dcm, clip_sole_centres[f], clip_sole_centres[o],
                          config.min_spread)
        held[f] = lag is not None and lag > config.margin
    return held
