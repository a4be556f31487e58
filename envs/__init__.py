"""The body and the world: skeleton, Motion, features, I/O, retargeting, procedural source, rendering."""
