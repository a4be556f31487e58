"""What the tracker reads after each control step (tracker.py), in one compiled pass: the tracked joint positions, the
largest joint speed, whether the pose is finite and the mean distance to the reference's joints. The NumPy expressions
it replaces cost ~15 us a step. The mean is summed as NumPy sums up to 128 joints (eight partial sums); each joint's
squared distance in plain order, which may differ from NumPy's einsum in the last bit (tests/test_step_checks.py)."""
from __future__ import annotations

import numpy as np

from envs.jit import compiled


@compiled
def _pairwise_sum(a: np.ndarray) -> float:
    """NumPy's sum of a float64 vector of up to 128 entries: a plain loop below eight, else eight partial sums (one
    block of its pairwise summation); beyond 128 a plain sum (not NumPy's last bits: the skeleton has 22 joints)."""
    n = len(a)
    if n < 8 or n > 128:
        s = 0.0
        for v in a:
            s += v
        return s
    r = a[:8].copy()
    i = 8
    while i < n - n % 8:
        for u in range(8):
            r[u] += a[i + u]
        i += 8
    s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        s += a[i]
        i += 1
    return s


@compiled
def read_step(xpos: np.ndarray, body_ids: np.ndarray, positions_out: np.ndarray, qvel: np.ndarray, qpos: np.ndarray,
              reference: np.ndarray) -> tuple[float, bool, float]:
    """Writes ``xpos[body_ids]`` into ``positions_out`` (J, 3); returns (max |qvel| (NaN if any is), whether all of
    ``qpos`` is finite, the mean over the joints of their distance to ``reference`` (J, 3))."""
    j = len(body_ids)
    distance = np.empty(j)
    for b in range(j):
        s = 0.0
        for r in range(3):
            p = xpos[body_ids[b], r]
            positions_out[b, r] = p
            e = p - reference[b, r]
            s += e * e
        distance[b] = np.sqrt(s)
    peak = 0.0
    for v in qvel:
        a = abs(v)
        if a != a:
            peak = a
            break
        if a > peak:
            peak = a
    finite = True
    for v in qpos:
        if not np.isfinite(v):
            finite = False
            break
    return peak, finite, _pairwise_sum(distance) / j
