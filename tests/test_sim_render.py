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


def test_simulating_loads_no_gl_stack_until_a_renderer_is_made():
    """With $MUJOCO_GL unset, `import envs` and an executor leave MuJoCo without a GL backend (OSMesa's stack cost every
    simulating process 56 MB of RSS); the first renderer hands it the backend (envs/gl.py) and renders."""
    import os
    import subprocess
    import sys

    code = ("import sys, numpy as np, envs, mujoco\n"
            "from envs.executor import TrackingExecutor\n"
            "ex = TrackingExecutor()\n"
            "print('OpenGL' in sys.modules)\n"
            "from envs.sim_render import make_renderer\n"
            "r = make_renderer(ex.model, 48, 64); d = mujoco.MjData(ex.model); mujoco.mj_forward(ex.model, d)\n"
            "r.update_scene(d); img = r.render(); r.close()\n"
            "print(img.shape, float(np.ptp(img)) > 0)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    lines = out.stdout.strip().splitlines()
    assert lines and lines[0] == "False", out.stderr[-2000:]
    if len(lines) < 2 and "failed" in out.stderr:
        pytest.skip(f"no offscreen GL: {out.stderr.strip().splitlines()[-1]}")
    assert lines[1] == "(48, 64, 3) True", out.stderr[-2000:]
