"""The compiled forward kinematics and matrix_to_quat (envs/jit.py) against the NumPy versions they replaced: the same
numbers bit for bit, so the procedural source, the shipped models' dataset build and every figure computed through them
stay as they were (synth-8 rebuilt with them: the same bytes; RESULTS.md, "Compiled forward kinematics")."""
from __future__ import annotations

import numpy as np
import pytest

import envs.quaternion as quaternion
import envs.skeleton as skeleton
from envs.quaternion import euler_to_matrix, matrix_to_quat, matrix_to_quat_numpy, qnormalize
from envs.skeleton import SMPL22

pytestmark = pytest.mark.skipif(not quaternion.HAVE_NUMBA, reason="numba is not installed: nothing compiled to compare")


def _rotations(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rotation matrices over every branch of the conversion: random, near identity, and half turns."""
    mats = [euler_to_matrix(rng.uniform(-180, 180, size=(n, 3)), "XYZ"),
            euler_to_matrix(rng.uniform(-4, 4, size=(n, 3)), "ZXY"),
            euler_to_matrix(np.array([[180.0, 0, 0], [0, 180, 0], [0, 0, 180], [90, 90, 0], [0, 0, 0]]), "XYZ")]
    return np.concatenate(mats)


def test_matrix_to_quat_is_numpys_bit_for_bit():
    rng = np.random.default_rng(0)
    mats = _rotations(rng, 4000)
    assert np.array_equal(matrix_to_quat(mats), matrix_to_quat_numpy(mats))
    # every branch of the divisor was taken (w, x, y or z the largest)
    m00, m11, m22 = mats[:, 0, 0], mats[:, 1, 1], mats[:, 2, 2]
    best = np.argmax(np.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1), -1)
    assert set(best.tolist()) == {0, 1, 2, 3}
    # leading shapes, a frame of joints as euler_to_local_rotations passes it, and an empty batch
    frames = mats[:22 * 30].reshape(30, 22, 3, 3)
    assert np.array_equal(matrix_to_quat(frames), matrix_to_quat_numpy(frames))
    assert matrix_to_quat(frames).shape == (30, 22, 4)
    assert matrix_to_quat(np.zeros((0, 3, 3))).shape == (0, 4)


def test_matrix_to_quat_keeps_nan_and_rejects_other_shapes():
    bad = np.full((2, 3, 3), np.nan)
    assert np.isnan(matrix_to_quat(bad)).all() and np.isnan(matrix_to_quat_numpy(bad)).all()
    with pytest.raises(ValueError, match=r"\(\.\.\., 3, 3\)"):
        matrix_to_quat(np.zeros((4, 3, 4)))


def test_forward_kinematics_is_numpys_bit_for_bit():
    rng = np.random.default_rng(1)
    local = qnormalize(rng.normal(size=(120, 22, 4)))
    root = rng.normal(size=(120, 3))
    assert np.array_equal(SMPL22.forward(local, root), SMPL22.forward_numpy(local, root))
    # a batch of clips, and one root position broadcast over every frame
    batch = local.reshape(4, 30, 22, 4)
    assert np.array_equal(SMPL22.forward(batch, root.reshape(4, 30, 3)), SMPL22.forward_numpy(batch, root.reshape(4, 30, 3)))
    still = SMPL22.forward(local, np.array([0.1, 0.9, -0.2]))
    assert np.array_equal(still, SMPL22.forward_numpy(local, np.array([0.1, 0.9, -0.2])))
    # float32 rotations are computed as NumPy computes them (in float32), not in the compiled loop
    assert np.array_equal(SMPL22.forward(local.astype(np.float32), root), SMPL22.forward_numpy(local.astype(np.float32), root))


def test_forward_of_the_rest_pose_is_the_rest_positions():
    identity = np.zeros((3, 22, 4))
    identity[..., 0] = 1.0
    rest = SMPL22.rest_positions()
    assert np.allclose(SMPL22.forward(identity, np.zeros((3, 3))), rest[None], atol=1e-12)


def test_without_numba_the_numpy_versions_answer(monkeypatch):
    rng = np.random.default_rng(2)
    mats = _rotations(rng, 50)
    local = qnormalize(rng.normal(size=(10, 22, 4)))
    compiled = matrix_to_quat(mats), SMPL22.forward(local, np.zeros((10, 3)))
    monkeypatch.setattr(quaternion, "HAVE_NUMBA", False)
    monkeypatch.setattr(skeleton, "HAVE_NUMBA", False)
    assert np.array_equal(matrix_to_quat(mats), compiled[0])
    assert np.array_equal(SMPL22.forward(local, np.zeros((10, 3))), compiled[1])
