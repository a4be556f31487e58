"""The body and the world: skeleton, Motion, features, I/O, retargeting, procedural source, rendering."""

from envs.gl import configure_gl

configure_gl()  # PyOpenGL's platform where $MUJOCO_GL is set; renderers choose a backend when made (envs/gl.py)
