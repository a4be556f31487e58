import imageio.v2 as imageio
import pytest

from envs.executor import TrackingExecutor


def test_execution_renders_to_mp4(tmp_path, synth):
    from envs.sim_render import render_execution

    motion = synth.generate("daily_life", "wave", "happy", 1).motion.slice(0, 80)
    result = TrackingExecutor().execute(motion)
    try:
        path = render_execution(result, tmp_path / "wave.mp4", reference=motion, size=(320, 240))
    except RuntimeError as exc:  # no GL at all on this machine
        pytest.skip(f"no offscreen GL: {exc}")
    frames = [f for f in imageio.get_reader(path)]  # list() would ask len(), which is inf for ffmpeg
    assert len(frames) == result.trajectory.num_frames and frames[0].shape == (240, 320, 3)
    assert frames[0].std() > 5  # not a blank image
