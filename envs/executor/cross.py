"""Cross products the whole-body controller needs at every solve, written out: ``np.cross`` costs 45-60 us of
dispatch a call on these sizes, 5-7 % of a walk's time, and these compute the same products and differences."""
from __future__ import annotations

import numpy as np


def tilt_axis(xmat: np.ndarray) -> np.ndarray:
    """z x e_z for a geom's z axis (column 2 of its row-major rotation ``xmat``, 9 numbers): the axis to turn it
    level about, its length the sine of its tilt."""
    return np.array((xmat[5], -xmat[2], 0.0))


def horizontal_moment(arm: np.ndarray, force: np.ndarray) -> np.ndarray:
    """(n, 2): the x and y parts of arm x force per row, as ``np.cross(arm, force)[:, :2]``."""
    return np.stack((arm[:, 1] * force[:, 2] - arm[:, 2] * force[:, 1],
                     arm[:, 2] * force[:, 0] - arm[:, 0] * force[:, 2]), axis=1)


def moment_rows(arm: np.ndarray, force: np.ndarray) -> np.ndarray:
    """(n, 3): arm x force per row, as ``np.cross(arm, force)``: the horizontal parts and the vertical one."""
    return np.column_stack((horizontal_moment(arm, force), arm[:, 0] * force[:, 1] - arm[:, 1] * force[:, 0]))
