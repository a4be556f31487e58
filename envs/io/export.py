"""A Motion written where other tools read it, chosen by the file's suffix: ``.bvh`` (the SMPL-22 skeleton
in centimetres, ZYX Euler channels: Blender, MotionBuilder and other BVH readers), ``.npy`` (global joint
positions (T, 22, 3), Y up, metres, HumanML3D joint order), ``.mp4``/``.gif`` (a rendered stick figure)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from envs.motion.motion import Motion

FORMATS = (".bvh", ".npy", ".mp4", ".gif")


def bvh_ready(motion: Motion) -> tuple[Motion, float]:
    """``motion`` on the SMPL-22 skeleton's fixed bone lengths, as a BVH must carry it (offsets are constant;
    a generated motion's joint positions need not keep its bones' lengths), and the largest distance (m)
    this refit moved a joint."""
    fitted = Motion.from_positions(motion.positions, motion.fps)
    return fitted, float(np.linalg.norm(fitted.positions - motion.positions, axis=-1).max())


def write_motion(motion: Motion, path: str | Path, title: str = "") -> Path:
    """Write ``motion`` as the suffix of ``path`` says (see the module docstring); returns the path."""
    from envs.atomic import atomic_write_bytes

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unknown output format {suffix or '(none)'!r}; use one of {', '.join(FORMATS)}")
    if suffix == ".bvh":
        from envs.io.bvh import write_bvh
        from envs.skeleton import JOINT_NAMES, PARENTS, SMPL22

        fitted, _ = bvh_ready(motion)
        write_bvh(path, fitted.rotations, fitted.positions[:, 0], SMPL22.offsets, JOINT_NAMES, PARENTS, fitted.fps)
    elif suffix == ".npy":
        import io

        buf = io.BytesIO()
        np.save(buf, motion.positions.astype(np.float32), allow_pickle=False)
        atomic_write_bytes(path, buf.getvalue())
    else:
        from envs.render import render_motion

        render_motion(motion, path, title=title)
    return path
