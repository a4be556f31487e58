import numpy as np

from envs.quaternion import qnormalize
from envs.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, SMPL22, joint_limits_deg


def test_tree_is_humanml3d_order():
    assert NUM_JOINTS == 22 and JOINT_NAMES[0] == "pelvis" and JOINT_NAMES[15] == "head"
    assert all(PARENTS[j] < j for j in range(1, NUM_JOINTS))


def test_adult_proportions():
    rest = SMPL22.rest_positions()
    height = rest[:, 1].max() - rest[:, 1].min()
    assert 1.45 < height < 1.65  # head joint to ankle joint of a ~1.70 m adult
    assert 0.75 < SMPL22.leg_length() < 0.9
    left = [j for j, n in enumerate(JOINT_NAMES) if n.startswith("l_")]
    right = [JOINT_NAMES.index("r_" + JOINT_NAMES[j][2:]) for j in left]
    assert np.allclose(rest[left] * [-1, 1, 1], rest[right])


def test_fk_identity_gives_rest_pose():
    rot = np.zeros((3, NUM_JOINTS, 4)); rot[..., 0] = 1
    pos = SMPL22.forward(rot, np.zeros((3, 3)))
    assert np.allclose(pos[1], SMPL22.rest_positions())


def test_ik_round_trips_fk_of_random_poses(rng):
    rot = qnormalize(np.concatenate([np.ones((40, NUM_JOINTS, 1)), rng.normal(scale=0.35, size=(40, NUM_JOINTS, 3))], -1))
    root = rng.normal(size=(40, 3))
    pos = SMPL22.forward(rot, root)
    back = SMPL22.forward(SMPL22.inverse(pos), pos[:, 0])
    assert np.abs(back - pos).max() < 1e-6


def test_bone_length_normalisation_keeps_directions(rng):
    pos = SMPL22.rest_positions()[None] * 1.2 + rng.normal(scale=0.01, size=(5, NUM_JOINTS, 3))
    norm = SMPL22.normalise_bone_lengths(pos)
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        assert np.allclose(np.linalg.norm(norm[:, j] - norm[:, p], axis=-1), SMPL22.bone_lengths[j])


def test_joint_limits_mirror():
    lim = joint_limits_deg()
    l, r = JOINT_NAMES.index("l_elbow"), JOINT_NAMES.index("r_elbow")
    assert lim[l, 1].tolist() == [-150, 0] and lim[r, 1].tolist() == [0, 150]
    assert np.all(lim[..., 0] <= lim[..., 1])
