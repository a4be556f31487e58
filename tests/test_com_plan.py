"""The centre-of-mass plan of unassisted tracking: the smallest offset that keeps a reference's ZMP on its soles."""
import numpy as np

from envs.executor.com_plan import support_halfplanes
from envs.executor.feasibility import GRAVITY, reference_zmp
from envs.motion import Motion
from helpers import still_motion


def _planted_plan(executor, motion: Motion):
    ref = executor.reference(motion)
    planted, stance = executor.planted(ref)
    return planted, stance, executor.com_plan(planted, stance)


def test_a_still_pose_needs_no_offset(executor, pose):
    _, _, plan = _planted_plan(executor, still_motion(pose, 60))
    assert plan.outside_before_m == 0.0 and np.abs(plan.offset).max() < 1e-9


def test_a_swaying_body_gets_an_offset_that_puts_its_zmp_back_on_the_soles(executor, pose):
    still = still_motion(pose, 90)
    t = np.arange(still.num_frames) / still.fps
    sway = np.zeros_like(still.positions)
    sway[..., 0] = 0.02 * np.sin(2 * np.pi * 2.0 * t)[:, None]  # 2 cm at 2 Hz: the ZMP swings ~30 cm
    planted, stance, plan = _planted_plan(executor, Motion(still.positions + sway, still.rotations, still.fps))
    assert stance.all() and plan.outside_before_m > 0.05
    # Independently of the planner's own bookkeeping: the planned ZMP against the shrunk stance support.
    import mujoco

    cfg = executor.config.com_plan
    mass = float(executor.model.body_subtreemass[executor.pelvis])
    zmp = reference_zmp(planted, mass, cfg.smooth_s)
    dt, z = planted.dt, planted.com[:, 2]
    h = z / (GRAVITY + np.gradient(np.gradient(z, dt), dt))
    acc = np.zeros_like(plan.offset)
    acc[1:-1] = (plan.offset[2:] - 2 * plan.offset[1:-1] + plan.offset[:-2]) / dt**2
    planned = zmp + plan.offset - h[:, None] * acc
    planes = support_halfplanes(executor.model, mujoco.MjData(executor.model), executor.qadr, planted, stance,
                                executor.foot_geoms, cfg.margin)
    excess = [max(n @ p - o for n, o in zip(*pl)) for pl, p in zip(planes, planned) if pl is not None]
    before = [max(n @ p - o for n, o in zip(*pl)) for pl, p in zip(planes, zmp) if pl is not None]
    assert max(before) > 0.05 and max(excess) < 0.005
    assert np.abs(plan.offset).max() < 0.06  # cancels the sway rather than moving the body away
