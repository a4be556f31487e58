"""MuJoCo reads its GL backend from $MUJOCO_GL when it is first imported; choose one before that."""
from __future__ import annotations

import os
from pathlib import Path


def configure_gl() -> str:
    """Pick MuJoCo's GL backend before mujoco is imported: $MUJOCO_GL, else EGL with a GPU, else OSMesa."""
    if "MUJOCO_GL" not in os.environ:
        has_gpu = Path("/dev/nvidia0").exists() or Path("/dev/dri/renderD128").exists()
        os.environ["MUJOCO_GL"] = "egl" if has_gpu else "osmesa"
    if os.environ["MUJOCO_GL"] in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
    return os.environ["MUJOCO_GL"]
