"""The whole-body PD's velocity targets: the reference is interpolated linearly between the clip's frames (20 fps
onto the 60 Hz control steps), so its velocities jump at every frame; the damping term passed the jumps on to the
torques and the floor's push on the body changed by tens to hundreds of newtons from one control step to the next
(dataset-1_guide_happy_001: 245, 426, 758, 239 N in four steps against a weight of 687 N). ``velocity_smooth_s``
smooths the targets (RESULTS.md, "The floor's push chattered at the clip's frame rate")."""
import dataclasses

import numpy as np
import pytest

from envs.executor import TrackingExecutor, load_executor_config
from envs.executor.reference import smoothed


def test_smoothing_takes_the_frame_rate_steps_out_of_an_interpolated_velocity():
    frames = np.sin(np.linspace(0.0, 3.0, 21))  # a joint angle at 20 fps
    steps = np.interp(np.arange(61) / 3.0, np.arange(21), frames)  # linearly onto 60 Hz steps
    velocity = np.diff(steps) * 60.0
    jump = lambda v: np.abs(np.diff(v, 2)).max()
    assert smoothed(velocity, 0.0) is velocity  # off: the interpolated velocities themselves
    assert jump(smoothed(velocity, 0.015 * 60.0)) < 0.3 * jump(velocity)
    assert abs(smoothed(velocity, 0.9).mean() - velocity.mean()) < 0.05 * abs(velocity).max()  # no bias


def test_velocity_smoothing_is_shipped_on_and_refused_below_zero():
    assert load_executor_config().wholebody.velocity_smooth_s > 0
    with pytest.raises(ValueError, match="velocity_smooth_s"):
        dataclasses.replace(load_executor_config().wholebody, velocity_smooth_s=-0.01)


def _floor_push_jumps(motion, velocity_smooth_s: float) -> tuple[bool, float]:
    """Whether ``motion`` is tracked unassisted, and the mean step-to-step jump (N) of the floor's total normal force
    on the body beyond a straight line through its neighbours."""
    import mujoco

    cfg = load_executor_config()
    ex = TrackingExecutor(dataclasses.replace(
        cfg, wholebody=dataclasses.replace(cfg.wholebody, velocity_smooth_s=velocity_smooth_s)))
    push, force = [], np.zeros(6)

    def record(d, k):  # at each control step, the contacts and forces of the physics step before it
        total = 0.0
        for i in range(d.ncon):
            mujoco.mj_contactForce(ex.model, d, i, force)
            total += force[0]
        push.append(total)

    ex.hooks.append(record)
    result = ex.execute(motion, mode="none")
    f = np.array(push[5:])  # after the start's settling
    return result.success, float(np.abs(f[1:-1] - 0.5 * (f[:-2] + f[2:])).mean())


def test_the_floor_no_longer_chatters_at_the_clip_frame_rate(synth):
    """A swaying dance (synthetic, 20 fps): the floor's push jumps 39 N a step on average with the interpolated
    velocities as targets and 14 N smoothed (measured; dataset-1's bow_normal_001 10 -> 2 N, guide_happy_001 104 ->
    31 N)."""
    motion = synth.generate("dance", "sway", "happy", 0).motion
    shipped = load_executor_config().wholebody.velocity_smooth_s
    tracked_raw, raw = _floor_push_jumps(motion, 0.0)
    tracked, smooth = _floor_push_jumps(motion, shipped)
    assert tracked_raw and tracked
    assert smooth < 0.5 * raw, (smooth, raw)


def test_around_the_clip_steps_the_targets_are_the_clip_velocities(synth):
    """Smoothed only while the clip stands: around its steps (0.1 s either side of a lift-off or a landing) a foot's
    velocity changes within a frame at a landing, and the targets keep that (smoothed there too, dataset-2's walks
    480 -> 472 and runs 85 -> 80, against 477 and 85 this way; RESULTS.md)."""
    ex = TrackingExecutor()
    ex.execute(synth.generate("dance", "step_touch", "happy", 0).motion, mode="none")  # stands, and steps a little
    wb = ex.wholebody
    steps = wb._clip_steps
    assert steps.any() and not steps.all()
    assert np.array_equal(wb.qvel_ref[steps], wb.ref.qvel[steps])
    standing = ~steps
    assert not np.allclose(wb.qvel_ref[standing], wb.ref.qvel[standing])
