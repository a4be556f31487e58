"""MuJoCo offscreen rendering of an ExecutionResult (OSMesa on CPU, EGL on GPU) to MP4."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def make_renderer(model, height: int, width: int):
    """A ``mujoco.Renderer``; raises RuntimeError naming the GL backend when none works."""
    backend = os.environ.get("MUJOCO_GL", "")
    import mujoco

    try:
        return mujoco.Renderer(model, height=height, width=width)
    except Exception as exc:  # noqa: BLE001 - GL errors come in many types
        hint = " (install Debian libosmesa6 for CPU rendering)" if backend == "osmesa" else ""
        raise RuntimeError(f"MuJoCo rendering with MUJOCO_GL={backend} failed: {exc}{hint}") from None


def render_execution(result, path: str | Path, reference=None, size: tuple[int, int] = (320, 240),
                     fps: float | None = None) -> Path:
    """Replay an ExecutionResult's trajectory on the humanoid and write an MP4 (the reference as a ghost)."""
    import imageio.v2 as imageio
    import mujoco

    from envs.executor.reference import joint_angles
    from envs.humanoid import build_model, load_humanoid_config, quat_to_mujoco, to_mujoco

    if result.trajectory is None:
        raise ValueError("the execution produced no trajectory to render")
    agents = [("", (0.0, 0.0, 1.0), "0.85 0.6 0.45 1")]
    if reference is not None:
        agents.append(("ghost_", (0.0, 0.0, 1.0), "0.5 0.5 0.5 0.35"))
    model, specs = build_model(load_humanoid_config(), agents)
    # Software rendering: skip shadows, reflections and multisampling (3x faster on OSMesa).
    model.vis.quality.shadowsize = 0
    model.vis.quality.offsamples = 0
    model.mat_reflectance[:] = 0.0
    model.light_castshadow[:] = 0
    data = mujoco.MjData(model)
    width, height = size
    renderer = make_renderer(model, height, width)
    motions = [result.trajectory] + ([reference.resample(result.trajectory.fps)] if reference is not None else [])
    tables = []
    for spec, motion in zip(specs, motions):
        adr = model.jnt_qposadr[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, f"{spec.prefix}root")]
        angles = joint_angles(motion).reshape(motion.num_frames, -1)[:, spec.angle_columns()]
        q = np.concatenate([to_mujoco(motion.positions[:, 0]), quat_to_mujoco(motion.rotations[:, 0]), angles], axis=1)
        tables.append((adr, q))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    n = result.trajectory.num_frames
    camera = mujoco.MjvCamera()
    camera.type = mujoco.mjtCamera.mjCAMERA_TRACKING
    camera.trackbodyid = 1
    camera.distance, camera.elevation, camera.azimuth = 4.0, -12.0, 120.0
    try:
        with imageio.get_writer(tmp, format="FFMPEG", fps=fps or result.trajectory.fps, codec="libx264",
                                quality=7, macro_block_size=1, pixelformat="yuv420p") as writer:
            for f in range(n):
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
