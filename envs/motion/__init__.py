"""Motion type, HumanML3D-compatible features and their normalisation statistics."""
from envs.motion.features import FEATURE_DIM, decode, decode_positions, encode
from envs.motion.motion import CANONICAL_FPS, Motion, MotionError
from envs.motion.stats import FeatureStats

__all__ = ["CANONICAL_FPS", "FEATURE_DIM", "FeatureStats", "Motion", "MotionError", "decode", "decode_positions", "encode"]
