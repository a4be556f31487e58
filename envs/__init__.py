"""The body and the world: skeleton, Motion, features, I/O, retargeting, procedural source, rendering."""

from envs.gl import configure_gl

configure_gl()  # before anything imports mujoco: EGL with a GPU, else OSMesa (headless CPU)
