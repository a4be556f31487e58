"""Motion file I/O: BVH (read any hierarchy, write SMPL-22), HumanML3D folders, the Bandai-Namco layout."""
from envs.io.bvh import BVHClip, BVHError, iter_bvh_folder, parse_bvh, read_bvh, write_bvh
from envs.io.humanml3d import HumanML3DItem, read_humanml3d

__all__ = ["BVHClip", "BVHError", "HumanML3DItem", "iter_bvh_folder", "parse_bvh", "read_bvh", "read_humanml3d", "write_bvh"]
