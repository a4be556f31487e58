import dataclasses

import numpy as np
import pytest

from envs.executor import TrackingExecutor, load_executor_config
from envs.executor.reference import joint_angles
from envs.humanoid import build_model, from_mujoco, load_humanoid_config, to_mujoco
from envs.motion import Motion
from envs.skeleton import JOINT_NAMES, joint_limits_deg


@pytest.fixture(scope="module")
def wave(synth):
    return synth.generate("daily_life", "wave", "happy", 0).motion.slice(0, 50)


def test_humanoid_model(executor):
    import mujoco

    m = executor.model
    assert m.opt.timestep <= 1 / 240 + 1e-12
    assert abs(m.body_mass.sum() - 70.0) < 0.1
    assert m.nu == 63 and len(executor.spec.joint_names) == 63
    limits = np.deg2rad(joint_limits_deg())
    for name, (j, axis) in zip(executor.spec.joint_names, executor.spec.hinge_index):
        jid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_JOINT, name)
        assert np.allclose(m.jnt_range[jid], limits[j, axis])
    forces = m.actuator_forcerange[:, 1]
    assert forces.min() >= 20 and forces.max() <= 300
    two, specs = build_model(load_humanoid_config(), [("a_", (0, 0, 1), "1 1 1 1"), ("b_", (2, 0, 1), "1 1 1 1")])
    assert two.nu == 126 and [s.prefix for s in specs] == ["a_", "b_"]


def test_axis_conversion_round_trip(rng):
    v = rng.normal(size=(10, 3))
    assert np.allclose(from_mujoco(to_mujoco(v)), v)
    assert np.allclose(to_mujoco(np.array([0.0, 1.0, 0.0])), [0, 0, 1])  # Y up -> Z up


def test_reference_pose_matches_the_motion(executor, wave):
    ref = executor.reference(wave)
    for k in (0, len(ref.qpos) // 2, len(ref.qpos) - 1):
        executor.reset_to(ref, k)
        assert np.abs(executor.data.xpos[executor.body_ids] - ref.positions[k]).max() < 1e-6
    # The reference positions are the motion's (grounded) joints.
    start = to_mujoco(wave.positions[0])
    assert np.abs((ref.positions[0] - ref.positions[0][0]) - (start - start[0])).max() < 1e-6


def test_euler_choice_keeps_elbows_bent_past_90(synth):
    motion = synth.generate("instrument_play", "violin", "neutral", 0).motion  # left elbow at 120 deg
    angles = np.rad2deg(joint_angles(motion))
    assert angles[:, JOINT_NAMES.index("l_elbow") - 1, 1].min() < -100
    assert np.abs(np.diff(angles, axis=0)).max() < 60  # no flips between Euler solutions


def test_unclamped_angles_are_the_clamped_ones_inside_the_ranges(wave):
    lim = np.deg2rad(joint_limits_deg()[1:])
    clamped, free = joint_angles(wave), joint_angles(wave, clamp=False)
    inside = (free >= lim[None, ..., 0]) & (free <= lim[None, ..., 1])
    assert np.array_equal(clamped[inside], free[inside])
    assert np.array_equal(clamped[~inside], np.clip(free, lim[None, ..., 0], lim[None, ..., 1])[~inside])
    tilted = wave.rotations.copy()  # the spine bent back past its range: only the unclamped angle says so
    spine = JOINT_NAMES.index("spine2")
    tilted[:, spine] = np.array([np.cos(np.radians(-30)), np.sin(np.radians(-30)), 0.0, 0.0])
    back = Motion(wave.positions, tilted, wave.fps)
    assert np.degrees(joint_angles(back, clamp=False)[:, spine - 1, 0]).max() < -55
    assert np.degrees(joint_angles(back)[:, spine - 1, 0]).min() == pytest.approx(-25.0)


def test_residual_tracking_of_a_gesture(executor, wave):
    r = executor.execute(wave, mode="residual")
    assert r.success and r.reason == "ok"
    assert r.metrics.mpjpe_root_rel_mm < 40
    assert r.metrics.residual_force_n > 0 and r.metrics.penetration_cm < 2
    assert r.trajectory.num_frames == pytest.approx(wave.num_frames, abs=2)
    again = executor.execute(wave, mode="residual")
    assert again.metrics == r.metrics  # deterministic


def test_full_and_none_modes_run(executor, synth):
    bow = synth.generate("daily_life", "bow", "neutral", 0).motion.slice(0, 40)
    full = executor.execute(bow, mode="full")
    assert full.success and full.metrics.residual_force_n == 0
    none = executor.execute(bow, mode="none")
    assert none.reason in ("ok", "fell", "tracking_lost") and none.metrics.residual_force_n == 0
    with pytest.raises(ValueError, match="mode"):
        executor.execute(bow, mode="half")


def test_bad_motions_raise_value_error(executor, wave):
    with pytest.raises(ValueError, match="NaN"):
        bad = wave.positions.copy(); bad[2, 3] = np.nan
        executor.execute(Motion(bad, wave.rotations))
    with pytest.raises(ValueError, match="zero frames"):
        executor.execute(Motion(wave.positions[:0], wave.rotations[:0]))
    with pytest.raises(ValueError, match="fps"):
        executor.execute(Motion(wave.positions, wave.rotations, fps=0))
    with pytest.raises(ValueError, match="22 joints"):
        executor.execute(Motion(wave.positions[:, :20], wave.rotations[:, :20]))
    with pytest.raises(ValueError, match="at least 2 frames"):
        executor.execute(wave.slice(0, 1))


def test_blow_up_is_a_failed_result_not_an_exception(wave):
    cfg = load_humanoid_config()
    wild = dataclasses.replace(cfg, kp={"default": 5e7}, kd_ratio=0.0, armature=0.0, joint_damping=0.0)
    # The ankle strategy drives the wild position actuators directly (the whole-body controller sets
    # their torques itself and holds this body, so it is tested below with a poisoned state instead).
    ankle = dataclasses.replace(load_executor_config(), balance_controller="ankle")
    ex = TrackingExecutor(ankle, wild)
    r = ex.execute(wave, mode="none")
    assert not r.success and r.reason == "unstable"


def test_a_non_finite_state_under_the_wholebody_controller_is_a_failed_result(wave):
    ex = TrackingExecutor()

    def poison(d, k):
        if k == 5:
            d.qvel[ex.dadr + 10] = np.nan

    ex.hooks.append(poison)
    r = ex.execute(wave, mode="none")
    assert not r.success and r.reason == "unstable" and r.failed_at_s <= 0.2


def test_unassisted_is_the_default_everywhere():
    """Issue 18: the runtime, the demo, `sim track` and the Gymnasium envs judge motions with nothing but the
    floor holding the body up; residual stays an explicit option."""
    from agent.runtime.config import ExecutorSettings, load_runtime_config
    from agent.runtime.services import ExecutorService
    from envs.executor.config import ExecutorConfig

    assert load_executor_config().mode == ExecutorConfig().mode == "none"
    assert load_runtime_config().executor.mode == ExecutorSettings().mode == "none"
    assert ExecutorService().mode == "none"


def test_generated_motion_is_scheduled_with_its_own_contact_height():
    """The runtime's executor service runs only what the generator wrote, whose decoded feet may hover a little while they
    stand: its contact schedule reads a sole corner 2.2 cm above the lowest as down (``generated_contact_height``,
    2.5 cm), the mocap executor's does not (``contact_height``, 2 cm; its clean walks' schedules need it)."""
    from agent.runtime.services import ExecutorService
    from envs.executor.stepping import contact_schedule

    config = load_executor_config()
    assert config.stepping.generated_contact_height == 0.025 and config.stepping.contact_height == 0.02  # shipped
    service = ExecutorService().executor.config
    assert service.stepping.contact_height == config.stepping.generated_contact_height
    unset = dataclasses.replace(config, stepping=dataclasses.replace(config.stepping, generated_contact_height=None))
    assert unset.for_generated_motion() is unset  # null: generated motion is read as mocap is
    with pytest.raises(ValueError, match="generated_contact_height"):
        dataclasses.replace(config.stepping, generated_contact_height=0.0)
    corners = np.zeros((40, 2, 8, 3))
    corners[:, 1, :, 2] = 0.022  # the right sole hovers 2.2 cm over the floor, still
    mocap = contact_schedule(corners, 1 / 60, config.stepping, com_height=None).stance
    generated = contact_schedule(corners, 1 / 60, service.stepping, com_height=None).stance
    assert mocap[:, 0].all() and not mocap[:, 1].any()
    assert generated.all()


def test_the_kernel_warm_up_walks_runs_and_steps_out_of_a_push():
    """`make setup` compiles the executor's Numba kernels with envs/executor/warmup.py: it must reach the gait's and
    push recovery's kernels (a generated daily_life motion reached push recovery's; not compiled there, each executor
    of a run compiles them at its first motion)."""
    from envs.executor.warmup import warm_kernels

    took = warm_kernels()
    assert set(took) == {"walk", "run", "push", "push_steps"} and took["push_steps"] >= 1
