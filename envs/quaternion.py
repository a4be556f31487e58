"""Vectorised quaternion and rotation helpers (numpy, w-first ``(w, x, y, z)`` like HumanML3D)."""
from __future__ import annotations

import numpy as np

from envs.jit import HAVE_NUMBA, compiled

_EPS = 1e-9


def qnormalize(q: np.ndarray) -> np.ndarray:
    return q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), _EPS)


def qinv(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion (its conjugate)."""
    return q * np.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product on the last axis (np.cross's axis handling costs more than the arithmetic here)."""
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape, dtype=np.result_type(a, b))
    out[..., 0] = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


def qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4)."""
    w = q[..., :1]
    u = q[..., 1:]
    uv = cross(u, v)
    uuv = cross(u, uv)
    return v + 2.0 * (w * uv + uuv)


def qbetween(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shortest-arc rotation taking direction ``u`` onto direction ``v``."""
    u = u / np.maximum(np.linalg.norm(u, axis=-1, keepdims=True), _EPS)
    v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), _EPS)
    dot = np.sum(u * v, axis=-1, keepdims=True)
    axis = cross(u, v)
    q = np.concatenate([1.0 + dot, axis], axis=-1)
    # Opposite vectors: rotate 180 degrees about any axis orthogonal to u.
    opposite = (1.0 + dot[..., 0]) < 1e-8
    if np.any(opposite):
        uo = u[opposite]
        ortho = np.cross(uo, np.array([1.0, 0.0, 0.0]))
        small = np.linalg.norm(ortho, axis=-1) < 1e-6
        ortho[small] = np.cross(uo[small], np.array([0.0, 1.0, 0.0]))
        q[opposite] = np.concatenate([np.zeros((len(uo), 1)), ortho], axis=-1)
    return qnormalize(q)


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """Rotation vectors (axis times angle, angle in [0, pi]) of unit quaternions."""
    q = np.where(q[..., :1] < 0, -q, q)
    half = np.arctan2(np.linalg.norm(q[..., 1:], axis=-1), q[..., 0])
    scale = np.where(half > _EPS, 2 * half / np.maximum(np.sin(half), 1e-12), 2.0)
    return q[..., 1:] * scale[..., None]


def qfrom_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.maximum(np.linalg.norm(axis, axis=-1, keepdims=True), _EPS)
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    return np.concatenate([np.cos(half), np.sin(half) * axis], axis=-1)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    q = qnormalize(q)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    m = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return m.reshape(q.shape[:-1] + (3, 3))


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) to unit quaternions with w >= 0 (robust branch choice: the largest of the four
    candidates ``1 +- m00 +- m11 +- m22`` is the divisor). Compiled (envs/jit.py): the same operations, in the same
    order, as NumPy's masked version it replaced, so bit for bit the same quaternions (tests/test_compiled_kinematics.py)."""
    m = np.asarray(m, dtype=np.float64)
    if m.shape[-2:] != (3, 3):
        raise ValueError(f"matrix_to_quat: expected (..., 3, 3) matrices, got shape {m.shape}")
    if not HAVE_NUMBA:
        return matrix_to_quat_numpy(m)
    flat = np.ascontiguousarray(m.reshape(-1, 3, 3))
    return _matrix_to_quat(flat).reshape(m.shape[:-2] + (4,))


def matrix_to_quat_numpy(m: np.ndarray) -> np.ndarray:
    """:func:`matrix_to_quat` in NumPy, by masks per branch: the version without Numba, and the reference the
    compiled one is tested against."""
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    candidates = np.stack(
        [
            1 + m00 + m11 + m22,
            1 + m00 - m11 - m22,
            1 - m00 + m11 - m22,
            1 - m00 - m11 + m22,
        ],
        axis=-1,
    )
    best = np.argmax(candidates, axis=-1)
    q = np.empty(m.shape[:-2] + (4,))
    s = np.sqrt(np.maximum(np.take_along_axis(candidates, best[..., None], -1)[..., 0], _EPS)) * 2
    b0, b1, b2, b3 = (best == i for i in range(4))
    q[b0] = np.stack([0.25 * s[b0], (m[b0][:, 2, 1] - m[b0][:, 1, 2]) / s[b0],
                      (m[b0][:, 0, 2] - m[b0][:, 2, 0]) / s[b0], (m[b0][:, 1, 0] - m[b0][:, 0, 1]) / s[b0]], -1)
    q[b1] = np.stack([(m[b1][:, 2, 1] - m[b1][:, 1, 2]) / s[b1], 0.25 * s[b1],
                      (m[b1][:, 0, 1] + m[b1][:, 1, 0]) / s[b1], (m[b1][:, 0, 2] + m[b1][:, 2, 0]) / s[b1]], -1)
    q[b2] = np.stack([(m[b2][:, 0, 2] - m[b2][:, 2, 0]) / s[b2], (m[b2][:, 0, 1] + m[b2][:, 1, 0]) / s[b2],
                      0.25 * s[b2], (m[b2][:, 1, 2] + m[b2][:, 2, 1]) / s[b2]], -1)
    q[b3] = np.stack([(m[b3][:, 1, 0] - m[b3][:, 0, 1]) / s[b3], (m[b3][:, 0, 2] + m[b3][:, 2, 0]) / s[b3],
                      (m[b3][:, 1, 2] + m[b3][:, 2, 1]) / s[b3], 0.25 * s[b3]], -1)
    q = qnormalize(q)
    return np.where(q[..., :1] < 0, -q, q)


@compiled
def _at_least_eps(v: float) -> float:  # pragma: no cover - compiled
    return v if v > _EPS or v != v else _EPS  # np.maximum's: a NaN stays NaN


@compiled
def _matrix_to_quat(m: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled; run through matrix_to_quat
    q = np.empty((m.shape[0], 4))
    for i in range(m.shape[0]):
        m00, m11, m22 = m[i, 0, 0], m[i, 1, 1], m[i, 2, 2]
        c0, c1 = 1 + m00 + m11 + m22, 1 + m00 - m11 - m22
        c2, c3 = 1 - m00 + m11 - m22, 1 - m00 - m11 + m22
        best, top = 0, c0  # the first largest, as np.argmax
        if c1 > top:
            best, top = 1, c1
        if c2 > top:
            best, top = 2, c2
        if c3 > top:
            best, top = 3, c3
        s = np.sqrt(_at_least_eps(top)) * 2
        if best == 0:
            w, x, y, z = 0.25 * s, (m[i, 2, 1] - m[i, 1, 2]) / s, (m[i, 0, 2] - m[i, 2, 0]) / s, (m[i, 1, 0] - m[i, 0, 1]) / s
        elif best == 1:
            w, x, y, z = (m[i, 2, 1] - m[i, 1, 2]) / s, 0.25 * s, (m[i, 0, 1] + m[i, 1, 0]) / s, (m[i, 0, 2] + m[i, 2, 0]) / s
        elif best == 2:
            w, x, y, z = (m[i, 0, 2] - m[i, 2, 0]) / s, (m[i, 0, 1] + m[i, 1, 0]) / s, 0.25 * s, (m[i, 1, 2] + m[i, 2, 1]) / s
        else:
            w, x, y, z = (m[i, 1, 0] - m[i, 0, 1]) / s, (m[i, 0, 2] + m[i, 2, 0]) / s, (m[i, 1, 2] + m[i, 2, 1]) / s, 0.25 * s
        norm = _at_least_eps(np.sqrt(((w * w + x * x) + y * y) + z * z))  # qnormalize's sum, in NumPy's order
        w, x, y, z = w / norm, x / norm, y / norm, z / norm
        if w < 0:
            w, x, y, z = -w, -x, -y, -z
        q[i, 0], q[i, 1], q[i, 2], q[i, 3] = w, x, y, z
    return q


def quat_to_cont6d(q: np.ndarray) -> np.ndarray:
    """Continuous 6D representation: the first two columns of the rotation matrix (Zhou et al. 2019)."""
    m = quat_to_matrix(q)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def cont6d_to_matrix(d6: np.ndarray) -> np.ndarray:
    a1, a2 = d6[..., 0:3], d6[..., 3:6]
    b1 = a1 / np.maximum(np.linalg.norm(a1, axis=-1, keepdims=True), _EPS)
    b2 = a2 - np.sum(b1 * a2, axis=-1, keepdims=True) * b1
    b2 = b2 / np.maximum(np.linalg.norm(b2, axis=-1, keepdims=True), _EPS)
    b3 = cross(b1, b2)
    return np.stack([b1, b2, b3], axis=-1)


def cont6d_to_quat(d6: np.ndarray) -> np.ndarray:
    return matrix_to_quat(cont6d_to_matrix(d6))


def euler_to_matrix(angles_deg: np.ndarray, order: str) -> np.ndarray:
    """Intrinsic Euler angles in channel order (BVH convention: R = R_order[0] @ R_order[1] @ R_order[2])."""
    angles = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    out = np.broadcast_to(np.eye(3), angles.shape[:-1] + (3, 3)).copy()
    for i, axis in enumerate(order.upper()):
        c, s = np.cos(angles[..., i]), np.sin(angles[..., i])
        r = np.zeros(angles.shape[:-1] + (3, 3))
        if axis == "X":
            r[..., 0, 0] = 1; r[..., 1, 1] = c; r[..., 1, 2] = -s; r[..., 2, 1] = s; r[..., 2, 2] = c
        elif axis == "Y":
            r[..., 1, 1] = 1; r[..., 0, 0] = c; r[..., 0, 2] = s; r[..., 2, 0] = -s; r[..., 2, 2] = c
        elif axis == "Z":
            r[..., 2, 2] = 1; r[..., 0, 0] = c; r[..., 0, 1] = -s; r[..., 1, 0] = s; r[..., 1, 1] = c
        else:
            raise ValueError(f"unknown rotation axis {axis!r} in Euler order {order!r}")
        out = out @ r
    return out


def matrix_to_euler(m: np.ndarray, order: str) -> np.ndarray:
    """Inverse of :func:`euler_to_matrix` for any of the six Tait-Bryan orders (degrees)."""
    order = order.upper()
    idx = {"X": 0, "Y": 1, "Z": 2}
    i, j, k = (idx[a] for a in order)
    # Sign of the permutation decides the signs in the closed form.
    sign = 1.0 if (j - i) % 3 == 1 else -1.0
    a = np.empty(m.shape[:-2] + (3,))
    sy = np.clip(sign * m[..., i, k], -1.0, 1.0)
    a[..., 1] = np.arcsin(sy)
    a[..., 0] = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    a[..., 2] = np.arctan2(-sign * m[..., i, j], m[..., i, i])
    return np.rad2deg(a)


def slerp(q0: np.ndarray, q1: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation between unit quaternions, elementwise; ``t`` broadcasts on the last axis."""
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.abs(dot)
    t = np.asarray(t)[..., None] if np.ndim(t) == q0.ndim - 1 else t
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_t = np.sin(theta)
    linear = sin_t < 1e-6
    w0 = np.where(linear, 1.0 - t, np.sin((1.0 - t) * theta) / np.where(linear, 1.0, sin_t))
    w1 = np.where(linear, t, np.sin(t * theta) / np.where(linear, 1.0, sin_t))
    return qnormalize(w0 * q0 + w1 * q1)


def kabsch_rotation(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Rotation matrices (..., 3, 3) that best map point sets ``src`` (K, 3) onto ``dst`` (..., K, 3)."""
    if weights is None:
        weights = np.ones(src.shape[-2])
    h = np.einsum("k,ki,...kj->...ij", weights, src, dst)
    u, _, vt = np.linalg.svd(h)
    d = np.sign(np.linalg.det(np.swapaxes(vt, -1, -2) @ np.swapaxes(u, -1, -2)))
    diag = np.ones(h.shape[:-2] + (3,))
    diag[..., 2] = d
    return np.swapaxes(vt, -1, -2) @ (diag[..., None] * np.swapaxes(u, -1, -2))
