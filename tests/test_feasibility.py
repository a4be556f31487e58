import numpy as np
import pytest

from envs.executor.feasibility import hull_distance, reference_zmp
from envs.motion import Motion
from helpers import still_motion


def test_hull_distance_is_signed():
    square = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]], dtype=float)
    assert hull_distance(square, np.array([0.5, 0.5])) == pytest.approx(-0.5)
    assert hull_distance(square, np.array([1.3, 0.5])) == pytest.approx(0.3)
    assert hull_distance(square, np.array([1.3, 1.4])) == pytest.approx(0.5)  # nearest point is a corner
    assert hull_distance(square[:2], np.array([0.0, 0.0])) == float("inf")  # no area: no support


def test_a_still_pose_has_its_zmp_under_its_centre_of_mass(executor, pose):
    still = still_motion(pose, 60)
    ref = executor.reference(still)
    zmp = reference_zmp(ref, float(executor.model.body_subtreemass[executor.pelvis]))
    assert np.abs(zmp - ref.com[:, :2]).max() < 1e-3
    f = executor.feasibility(ref)
    assert np.nanmax(f.outside_m) < 0  # inside the soles throughout
    assert f.summary(0.02, 0.05)["feasible"]


def test_a_shaken_body_asks_for_more_than_the_floor_gives(executor, pose):
    still = still_motion(pose, 90)
    t = np.arange(still.num_frames) / still.fps
    shake = np.zeros_like(still.positions)
    shake[..., 0] = 0.05 * np.sin(2 * np.pi * 4.0 * t)[:, None]  # 5 cm at 4 Hz: ~30 m/s^2 sideways
    f = executor.feasibility(executor.reference(Motion(still.positions + shake, still.rotations, still.fps)))
    s = f.summary(0.02, 0.05)
    assert not s["feasible"] and s["zmp_outside_fraction"] > 0.3 and s["zmp_outside_max_m"] > 0.5
