"""The official HumanML3D code's float32 arithmetic, operation for operation, in numpy.

The official ``common/quaternion.py`` wraps numpy arrays into float32 torch tensors for every quaternion
product, rotation and swing (``qmul_np``, ``qrot_np``, ``qbetween_np``, ``quaternion_to_cont6d_np``), and
its ``process_file`` turns the joint positions into float32 after the first rotation. Far from the origin
or near a 180-degree facing those roundings move the features by up to ~1e-4 (measured on
tests/data/humanml3d_parity), more than the parity bound of 1e-5, so the official convention repeats them:
the same operations in the same order, each rounded to float32. torch's cross product rounds once per
component (a fused multiply-add on the first product), which ``cross`` reproduces through float64.
"""
from __future__ import annotations

import numpy as np

F32 = np.float32
_F64 = np.float64


def f32(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=F32)


def _sum3(x: np.ndarray) -> np.ndarray:
    return (x[..., 0] + x[..., 1]) + x[..., 2]


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """torch.cross on float32: each component a_i b_j - rounded(a_k b_l), rounded once."""
    a, b = np.broadcast_arrays(f32(a), f32(b))
    wa, wb = a.astype(_F64), b.astype(_F64)
    out = np.empty(a.shape, dtype=_F64)
    out[..., 0] = wa[..., 1] * wb[..., 2] - (a[..., 2] * b[..., 1]).astype(_F64)
    out[..., 1] = wa[..., 2] * wb[..., 0] - (a[..., 0] * b[..., 2]).astype(_F64)
    out[..., 2] = wa[..., 0] * wb[..., 1] - (a[..., 1] * b[..., 0]).astype(_F64)
    return out.astype(F32)


def qmul(q: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Official ``qmul``: the outer product r_i q_j, then the sums in its order."""
    q, r = np.broadcast_arrays(f32(q), f32(r))
    t = r[..., :, None] * q[..., None, :]
    w = t[..., 0, 0] - t[..., 1, 1] - t[..., 2, 2] - t[..., 3, 3]
    x = t[..., 0, 1] + t[..., 1, 0] - t[..., 2, 3] + t[..., 3, 2]
    y = t[..., 0, 2] + t[..., 1, 3] + t[..., 2, 0] - t[..., 3, 1]
    z = t[..., 0, 3] - t[..., 1, 2] + t[..., 2, 1] + t[..., 3, 0]
    return np.stack([w, x, y, z], axis=-1)


def qinv(q: np.ndarray) -> np.ndarray:
    return f32(q) * np.array([1, -1, -1, -1], dtype=F32)


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Official ``qrot``: v + 2 (w (u x v) + u x (u x v))."""
    q, v = f32(q), f32(v)
    q = np.broadcast_to(q, v.shape[:-1] + (4,))
    uv = cross(q[..., 1:], v)
    uuv = cross(q[..., 1:], uv)
    return v + F32(2.0) * (q[..., :1] * uv + uuv)


def qbetween(v0: np.ndarray, v1: np.ndarray) -> np.ndarray:
    """Official ``qbetween``: (|v0||v1| + v0.v1, v0 x v1), normalised."""
    v0, v1 = np.broadcast_arrays(f32(v0), f32(v1))
    v = cross(v0, v1)
    w = np.sqrt(_sum3(v0 * v0) * _sum3(v1 * v1)) + _sum3(v0 * v1)
    q = np.concatenate([w[..., None], v], axis=-1)
    norm = np.sqrt(((q[..., 0] * q[..., 0] + q[..., 1] * q[..., 1]) + q[..., 2] * q[..., 2]) + q[..., 3] * q[..., 3])
    return q / norm[..., None]


def unit(v: np.ndarray) -> np.ndarray:
    """``v / np.sqrt((v ** 2).sum(axis=-1))`` as the official IK writes it, on float32 input."""
    v = f32(v)
    return v / np.sqrt(_sum3(v * v))[..., None]


def quat_to_cont6d(q: np.ndarray) -> np.ndarray:
    """Official ``quaternion_to_cont6d_np``: the first two columns of its float32 rotation matrix."""
    q = f32(q)
    r, i, j, k = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    two_s = F32(2.0) / (((r * r + i * i) + j * j) + k * k)
    one = F32(1.0)
    return np.stack([
        one - two_s * (j * j + k * k), two_s * (i * j + k * r), two_s * (i * k - j * r),
        two_s * (i * j - k * r), one - two_s * (i * i + k * k), two_s * (j * k + i * r),
    ], axis=-1)
