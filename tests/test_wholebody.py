"""Unassisted tracking: stance planting of the reference and the whole-body balance controller."""
import dataclasses

import numpy as np
import pytest

from envs.executor import load_executor_config
from envs.executor.feasibility import sole_corners
from envs.motion import Motion
from helpers import still_motion


def _tilted_feet(motion: Motion, degrees: float) -> Motion:
    """``motion`` with both ankles pitched by ``degrees`` (local rotation about x)."""
    from envs.quaternion import qmul
    from envs.skeleton import JOINT_INDEX

    half = np.deg2rad(degrees) / 2
    pitch = np.array([np.cos(half), np.sin(half), 0.0, 0.0])
    rot = motion.rotations.copy()
    for j in (JOINT_INDEX["l_ankle"], JOINT_INDEX["r_ankle"]):
        rot[:, j] = qmul(rot[:, j], pitch)
    return Motion(motion.positions, rot, motion.fps)


def test_planting_levels_stance_soles_and_grounds_them(executor, pose):
    ref = executor.reference(_tilted_feet(still_motion(pose, 30), 8.0))
    planted, stance = executor.planted(ref)
    assert stance.all()  # both feet stand still on the floor throughout
    import mujoco

    d = mujoco.MjData(executor.model)

    def soles(r):
        d.qpos[executor.qadr:executor.qadr + executor.nq_h] = r.qpos[10]
        mujoco.mj_kinematics(executor.model, d)
        tilt = [np.degrees(np.arccos(min(1.0, d.geom_xmat[g].reshape(3, 3)[2, 2]))) for g in executor.foot_geoms[:2]]
        return max(tilt), sole_corners(executor.model, d, executor.foot_geoms)[:, 2]

    tilt_before, _ = soles(ref)
    tilt_after, corners = soles(planted)
    assert tilt_before > 5.0 and tilt_after < 0.5
    assert abs(corners.min()) < 1e-3  # the lowest sole corner touches the floor
    assert np.ptp(corners[:8]) < 0.005  # the heel boxes rest flat (their 8 corners at one height)
    assert planted.num_steps == ref.num_steps and np.isfinite(planted.qfrc).all()


def test_wholebody_holds_a_standing_pose_unassisted(executor, pose):
    still = still_motion(pose, 60)  # 2 s
    r = executor.execute(still, mode="none")
    assert r.success and r.reason == "ok" and r.metrics.residual_force_n == 0
    assert r.metrics.max_deviation_m < 0.05 and r.metrics.penetration_cm < 1.0
    again = executor.execute(still, mode="none")
    assert again.metrics == r.metrics  # deterministic


def test_unknown_balance_controller_is_rejected():
    with pytest.raises(ValueError, match="balance_controller"):
        dataclasses.replace(load_executor_config(), balance_controller="magic")


def test_standing_bandai_gestures_tracked_unassisted(executor, bandai_root):
    """Three real standing gestures (bow, bye, byebye) tracked in mode none without a fall."""
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    root = bandai_root / "dataset-1" / "data"
    for name in ("dataset-1_bow_normal_001", "dataset-1_bye_normal_001", "dataset-1_byebye_normal_001"):
        motion = retarget(read_bvh(root / f"{name}.bvh"), JointMap.bandai()).motion
        r = executor.execute(motion, mode="none")
        assert r.success, (name, r.reason, r.failed_at_s)
