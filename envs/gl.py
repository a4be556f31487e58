"""MuJoCo's GL backend: $MUJOCO_GL where the user set it, else EGL with a GPU and OSMesa without, handed to MuJoCo
when the first renderer is made (``use_gl_backend``), not before.

MuJoCo reads $MUJOCO_GL when it is first imported and, when it is set, loads that backend's GL stack at once: OSMesa's
cost 56 MB of RSS in every process that imports mujoco, the ones that only simulate too (an executor after a 10 s
clip: 288 MB with it, `l2emg sim bench`; each Ray worker the same). Left unset, `import mujoco` loads none, and the
first renderer sets the variable and reloads MuJoCo's GL-context module, which its Renderer reads when it is made.
"""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

_PYOPENGL = ("egl", "osmesa")  # backends PyOpenGL must be told about before it is imported


def gl_backend() -> str:
    """$MUJOCO_GL, else ``egl`` with a GPU, else ``osmesa`` (headless CPU)."""
    if "MUJOCO_GL" in os.environ:
        return os.environ["MUJOCO_GL"]
    has_gpu = Path("/dev/nvidia0").exists() or Path("/dev/dri/renderD128").exists()
    return "egl" if has_gpu else "osmesa"


def configure_gl() -> None:
    """At import of ``envs``: where the user chose a backend, PyOpenGL's platform to match it (before OpenGL loads)."""
    if os.environ.get("MUJOCO_GL") in _PYOPENGL:
        os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])


def use_gl_backend() -> str:
    """Hands MuJoCo ``gl_backend()`` before a renderer is made (sets $MUJOCO_GL and $PYOPENGL_PLATFORM where unset; a
    mujoco imported without it gets its GL-context module reloaded with it). Returns the backend."""
    backend = gl_backend()
    if "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = backend
        if backend in _PYOPENGL:
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
        context = sys.modules.get("mujoco.rendering.classic.gl_context")
        if context is not None:  # imported without a backend: it picked GLFW, which needs a display
            importlib.reload(context)
    return backend
