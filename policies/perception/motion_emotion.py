"""MotionEmotionEstimator: the partner's observed joint positions -> distribution over emotions."""
from __future__ import annotations

import numpy as np

from envs.motion import Motion, encode
from envs.skeleton import SMPL22
from policies.emotion import MotionEmotionClassifier

MIN_FPS, MAX_FPS = 1.0, 1000.0  # partner streams outside these rates are not read (resampling them would be absurd)
MAX_COORD_M = 1.0e4  # a partner joint further than this from the origin is a broken stream, not a person


class MotionEmotionEstimator:
    """Wraps the motion-emotion classifier for positions as a simulator reports them (Y up, metres)."""

    def __init__(self, classifier: MotionEmotionClassifier, min_frames: int = 8) -> None:
        self.classifier = classifier
        self.labels = classifier.labels
        self.min_frames = max(min_frames, classifier.min_frames + 1)

    def check(self, positions: np.ndarray, fps: float = 20.0) -> str | None:
        """Why these positions (at ``fps``) cannot be read (None when they can)."""
        try:
            p = np.asarray(positions, dtype=np.float64)
        except (TypeError, ValueError):
            return f"partner motion must be an array of numbers, got {type(positions).__name__}"
        if p.ndim != 3 or p.shape[1:] != (22, 3):
            return f"partner motion must have shape (T, 22, 3), got {p.shape}"
        if not np.isfinite(p).all():
            return "partner motion contains NaN or inf"
        if isinstance(fps, (bool, np.bool_)) or not isinstance(fps, (int, float, np.integer, np.floating)) \
                or not np.isfinite(fps) or not MIN_FPS <= fps <= MAX_FPS:
            return f"partner motion frame rate must be a number in [{MIN_FPS}, {MAX_FPS}], got {str(fps)[:40]}"
        at_20 = int(np.floor((len(p) - 1) * 20.0 / fps)) + 1 if len(p) else 0  # frames once resampled to 20 fps
        if min(len(p), at_20) < self.min_frames:
            return f"partner motion too short ({len(p)} frames at {float(fps):g} fps, needs {self.min_frames} at 20 fps)"
        if np.abs(p).max() > MAX_COORD_M:
            return f"partner motion leaves the scene (a coordinate of {np.abs(p).max():.3g} m; at most {MAX_COORD_M:g})"
        return None

    def features(self, positions: np.ndarray, fps: float = 20.0) -> np.ndarray:
        """Positions -> rotations by IK -> 263-d features at 20 fps. Bones are rescaled to SMPL-22
        only when they differ (simulated humanoids already have its lengths)."""
        pos = np.asarray(positions, dtype=np.float64)
        lengths = np.linalg.norm(pos[0, 1:] - pos[0, list(SMPL22.parents[1:])], axis=-1)
        if np.abs(lengths - SMPL22.bone_lengths[1:]).max() > 1e-3:
            pos = SMPL22.normalise_bone_lengths(pos, root_scale=1.0)
        motion = Motion.from_positions(pos, fps, refit=False)
        return encode(motion if abs(fps - 20.0) < 1e-9 else motion.resample(20.0))

    def predict_proba(self, positions: list[np.ndarray], fps: float = 20.0) -> np.ndarray:
        for p in positions:
            problem = self.check(p, fps)
            if problem:
                raise ValueError(problem)
        return self.classifier.predict_proba([self.features(p, fps) for p in positions])
