"""Motion file I/O: BVH (read any hierarchy, unit and up axis; write any clip read, or SMPL-22 motion), HumanML3D
folders (read and written exactly), the Bandai-Namco layout."""
from envs.io.bvh import BVHClip, BVHError, iter_bvh_folder, parse_bvh, read_bvh, write_bvh, write_bvh_clip
from envs.io.bvh_units import BodyFrame
from envs.io.humanml3d import HumanML3DClip, HumanML3DItem, read_humanml3d, read_humanml3d_stats, write_humanml3d

__all__ = ["BVHClip", "BVHError", "BodyFrame", "HumanML3DClip", "HumanML3DItem", "iter_bvh_folder", "parse_bvh", "read_bvh",
           "read_humanml3d", "read_humanml3d_stats", "write_bvh", "write_bvh_clip", "write_humanml3d"]
