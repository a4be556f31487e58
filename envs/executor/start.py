"""The state the body starts a clip in (mode none): the reference's first pose and velocity, the velocity scaled down
where the clip starts standing and the velocity would carry the centre of mass to the soles' edge.

A body standing on both feet can stop a sway only while its capture point (Pratt et al. 2006: the centre of mass
plus its velocity over the pendulum's frequency) lies inside the soles, and in practice some way inside: the centre
of pressure never sits on the very edge. A clip that stands for its first half second takes no step to catch
anything beyond. Decoded motion starts with a jolt of its first frames (the demo's dance expert began its sways at
0.25-0.33 m/s sideways, the reference's own centre of mass settling 2 cm later), and a body started with that
velocity tipped over one foot's edge and was lost within two seconds (7 of the expert's 10 physical failures in a
demo run, all its sways and step-touches). The velocity of the whole body (root and joints) is scaled by one
factor, so the pose's own motion keeps its shape. A clip that starts stepping, or whose start is capturable with the
margin, starts as before (RESULTS.md, "A capturable start").
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.executor.feasibility import GRAVITY
from envs.executor.hull import convex_hull, distance_outside


@dataclass(frozen=True)
class StartConfig:
    capturable: bool = True  # scale the first velocity of a standing start down to a capturable one (false: as given)
    margin: float = 0.05  # m the capture point must lie inside the standing soles' hull
    standing_s: float = 0.5  # s both feet stand in the contact schedule from the first frame: a standing start

    def __post_init__(self) -> None:
        if self.margin < 0 or self.standing_s <= 0:
            raise ValueError(f"start: margin must be >= 0 and standing_s > 0, got {self.margin}, {self.standing_s}")


def capturable_scale(com: np.ndarray, com_vel: np.ndarray, soles_xy: np.ndarray, margin: float) -> float:
    """The largest factor s in [0, 1] for which the capture point ``com + s com_vel / omega`` lies at least ``margin``
    inside the convex hull of ``soles_xy`` (M, 2); where none does, the s whose capture point lies deepest inside.
    ``com``: (3,) with its height above the floor; ``com_vel``: (>= 2,) horizontal velocity first."""
    hull = convex_hull(np.asarray(soles_xy, dtype=float))
    if len(hull) < 3 or com[2] <= 0:
        return 1.0
    omega = np.sqrt(GRAVITY / com[2])
    c, v = np.asarray(com[:2], dtype=float), np.asarray(com_vel[:2], dtype=float) / omega

    def excess(s: float) -> float:  # convex in s: a signed distance to a convex set along a line
        return distance_outside(hull, c + s * v) + margin

    if excess(1.0) <= 0:
        return 1.0
    lo, hi = 0.0, 1.0
    if excess(0.0) <= 0:  # the boundary between a capturable lo and a too-fast hi
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if excess(mid) <= 0 else (lo, mid)
        return lo
    ratio = (np.sqrt(5.0) - 1.0) / 2.0  # golden section: the least excess
    a, b = lo, hi
    for _ in range(40):
        x1, x2 = b - ratio * (b - a), a + ratio * (b - a)
        a, b = (a, x2) if excess(x1) <= excess(x2) else (x1, b)
    best = 0.5 * (a + b)
    return 1.0 if excess(1.0) <= excess(best) + 1e-9 else best  # the section stops a hair short of an end


def standing_start(stance: np.ndarray, dt: float, standing_s: float) -> bool:
    """Whether both feet stand over the schedule's first ``standing_s`` (``stance``: (N, 2) flags)."""
    n = max(1, int(round(standing_s / dt)))
    return bool(np.asarray(stance[:n], dtype=bool).all())
