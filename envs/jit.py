"""``compiled``: Numba's ``njit`` (cached on disk, releasing the GIL) where Numba is installed, else the plain function.

The unassisted controller's small geometric and pendulum kernels (executor/hull.py, walk_mpc.py's pendulum) are scalar
loops over a few dozen numbers, where NumPy's per-call cost (1-10 us) is most of the time; compiled they cost ~1 us. The
skeleton's forward kinematics and quaternion.py's matrix_to_quat are loops over joints of small arrays, the same cost
(the procedural source posed every frame through them). Numba is a dependency; the fallback keeps everything working,
slower, where it cannot be installed.
"""
from __future__ import annotations

try:
    from numba import njit as _njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    _njit = None

HAVE_NUMBA = _njit is not None  # where False, callers with a vectorised NumPy version use it instead of a Python loop


def compiled(fn):
    """``fn`` compiled by Numba (nopython, nogil; cached on disk where a cache folder is writable), or ``fn`` itself
    without Numba. The first compilation of the executor's kernels takes ~5 s; from the cache, well under one."""
    if _njit is None:
        return fn
    try:
        return _njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache location (a read-only install and home): compile in each process
        return _njit(nogil=True)(fn)
