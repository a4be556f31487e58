"""MuJoCo offscreen rendering of an ExecutionResult (OSMesa on CPU, EGL on GPU) to MP4."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def make_renderer(model, height: int, width: int):
    """A ``mujoco.Renderer``; raises RuntimeError naming the GL backend when none works."""
    from envs.gl import use_gl_backend

    backend = use_gl_backend()
    import mujoco

    try:
        return mujoco.Renderer(model, height=height, width=width)
    except Exception as exc:  # noqa: BLE001 - GL errors come in many types
        hint = " (install Debian libosmesa6 for CPU rendering)" if backend == "osmesa" else ""
        raise RuntimeError(f"MuJoCo rendering with MUJOCO_GL={backend} failed: {exc}{hint}") from None


def _scene(agents: list[tuple[str, tuple[float, float, float], str]]):
    """A render-only model of the humanoids: no shadows, reflections or multisampling (3x faster on OSMesa)."""
    from envs.humanoid import build_model, load_humanoid_config

    model, specs = build_model(load_humanoid_config(), agents)
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    model.mat_reflectance[:] = 0.0
    model.light_castshadow[:] = 0
    return model, specs


def _write_video(model, tables: list[tuple[int, np.ndarray]], camera, path: str | Path, frames: int, fps: float,
                 size: tuple[int, int]) -> Path:
    """Pose every humanoid from its qpos table frame by frame and write an MP4 atomically (temp + rename)."""
    import imageio.v2 as imageio
    import mujoco

    data = mujoco.MjData(model)
    width, height = size
    renderer = make_renderer(model, height, width)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=7, macro_block_size=1,
                                pixelformat="yuv420p") as writer:
            for f in range(frames):
                for adr, q in tables:
                    data.qpos[adr:adr + q.shape[1]] = q[min(f, len(q) - 1)]
                mujoco.mj_forward(model, data)
                renderer.update_scene(data, camera=camera)
                writer.append_data(renderer.render())
        os.replace(tmp, path)
    finally:
        renderer.close()
        tmp.unlink(missing_ok=True)
    return path


def render_execution(result, path: str | Path, reference=None, size: tuple[int, int] = (320, 240),
                     fps: float | None = None) -> Path:
    """Replay an ExecutionResult's trajectory on the humanoid and write an MP4 (the reference as a ghost)."""
    import mujoco

    from envs.executor.reference import joint_angles
    from envs.humanoid import quat_to_mujoco, to_mujoco

    if result.trajectory is None:
        raise ValueError("the execution produced no trajectory to render")
    agents = [("", (0.0, 0.0, 1.0), "0.85 0.6 0.45 1")]
    if reference is not None:
        agents.append(("ghost_", (0.0, 0.0, 1.0), "0.5 0.5 0.5 0.35"))
    model, specs = _scene(agents)
    motions = [result.trajectory] + ([reference.resample(result.trajectory.fps)] if reference is not None else [])
    tables = []
    for spec, motion in zip(specs, motions):
        adr = model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, f"{spec.prefix}root")]
        angles = joint_angles(motion).reshape(motion.num_frames, -1)[:, spec.angle_columns()]
        q = np.concatenate([to_mujoco(motion.positions[:, 0]), quat_to_mujoco(motion.rotations[:, 0]), angles], axis=1)
        tables.append((adr, q))
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    camera.trackbodyid = 1
    camera.distance, camera.elevation, camera.azimuth = 4.0, -12.0, 120.0
    return _write_video(model, tables, camera, path, result.trajectory.num_frames, fps or result.trajectory.fps, size)


def _qpos_table(model, spec, motion, facing: float = 0.0, at=(0.0, 0.0)) -> tuple[int, np.ndarray]:
    """(qpos address, per-frame qpos) of one humanoid playing ``motion``, turned about the vertical so that
    it starts facing the MuJoCo yaw ``facing`` (0: +x) and placed with its first root position at ``at``."""
    import mujoco

    from envs.executor.reference import joint_angles
    from envs.humanoid import quat_to_mujoco, to_mujoco
    from envs.quaternion import qmul
    from envs.skeleton import JOINT_INDEX, ground_offset

    adr = model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, f"{spec.prefix}root")]
    pos = to_mujoco(motion.positions + np.array([0.0, ground_offset(motion.positions), 0.0]))
    left = pos[0, JOINT_INDEX["l_hip"]] - pos[0, JOINT_INDEX["r_hip"]]
    turn = facing - np.arctan2(-left[0], left[1])  # forward = left x up = (left_y, -left_x)
    c, s = np.cos(turn), np.sin(turn)
    root = pos[:, 0].copy()
    xy = root[:, :2] - root[:1, :2]
    root[:, :2] = np.stack([c * xy[:, 0] - s * xy[:, 1], s * xy[:, 0] + c * xy[:, 1]], -1) + np.asarray(at)
    yaw = np.array([np.cos(turn / 2), 0.0, 0.0, np.sin(turn / 2)])
    quat = qmul(np.broadcast_to(yaw, (motion.num_frames, 4)), quat_to_mujoco(motion.rotations[:, 0]))
    angles = joint_angles(motion).reshape(motion.num_frames, -1)[:, spec.angle_columns()]
    return adr, np.concatenate([root, quat, angles], axis=1)


def render_interaction(agent, partner, path: str | Path, size: tuple[int, int] = (640, 360), distance: float = 2.0,
                       fps: float = 20.0) -> Path:
    """Agent (warm colour, left) and partner (cool colour, right, facing it ``distance`` m away) side by side
    in one MP4, from a camera that frames both; ``partner`` None stands still. Both are Motions."""
    import mujoco

    from envs.motion.motion import Motion

    agent = agent.resample(fps)
    if partner is None:
        rot = np.zeros((2, agent.positions.shape[1], 4))
        rot[..., 0] = 1.0
        partner = Motion.from_rotations(rot, np.zeros((2, 3)), fps)
    partner = partner.resample(fps)
    model, specs = _scene([("agent_", (0.0, 0.0, 1.0), "0.9 0.55 0.35 1"), ("partner_", (distance, 0.0, 1.0), "0.35 0.55 0.9 1")])
    model.vis.headlight.ambient[:] = 0.45  # a lit scene: the default headlight leaves the bodies dark
    model.vis.headlight.diffuse[:] = 0.6
    # the agent at the origin facing +x, the partner ``distance`` ahead facing it
    tables = [_qpos_table(model, specs[0], agent, facing=0.0, at=(0.0, 0.0)),
              _qpos_table(model, specs[1], partner, facing=np.pi, at=(distance, 0.0))]
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_FREE
    camera.lookat[:] = (distance / 2, 0.0, 0.9)
    camera.distance, camera.elevation, camera.azimuth = distance + 2.6, -8.0, 90.0  # from the side: agent left
    return _write_video(model, tables, camera, path, max(agent.num_frames, partner.num_frames), fps, size)
