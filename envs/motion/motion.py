"""The ``Motion`` type: a skeletal motion clip with positions, local rotations and a frame rate."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.errors import L2EMGError
from envs.quaternion import qnormalize, slerp
from envs.skeleton import SMPL22, Skeleton

CANONICAL_FPS = 20.0
MAX_FRAMES = 100_000  # 83 minutes at 20 fps: a resampling asked for more is an error, not an allocation


class MotionError(L2EMGError):
    """Arrays that make no Motion (shape, frame count, non-finite values, frame rate), in one line."""


@dataclass
class Motion:
    """Global joint positions (T, J, 3) in metres (Y up) plus local joint rotations (T, J, 4, w-first).

    The root translation is the pelvis trajectory ``positions[:, 0]``. Construction validates the
    arrays, so a Motion that exists is finite, non-empty and of the skeleton's joint count.
    """

    positions: np.ndarray
    rotations: np.ndarray
    fps: float = CANONICAL_FPS

    def __post_init__(self) -> None:
        self.positions, self.rotations = _real_array(self.positions, "positions"), _real_array(self.rotations, "rotations")
        fps = self.fps
        if isinstance(fps, (bool, np.bool_)) or not isinstance(fps, (int, float, np.integer, np.floating)) \
                or not np.isfinite(fps) or fps <= 0:
            raise MotionError(f"Motion fps must be a positive number, got {str(fps)[:40]!r}")
        self.fps = float(fps)
        if self.positions.ndim != 3 or self.positions.shape[-1] != 3:
            raise MotionError(f"Motion positions must have shape (T, J, 3), got {self.positions.shape}")
        if self.positions.shape[0] == 0:
            raise MotionError("Motion has zero frames")
        if self.rotations.shape != self.positions.shape[:2] + (4,):
            raise MotionError(
                f"Motion rotations must have shape {self.positions.shape[:2] + (4,)}, got {self.rotations.shape}"
            )
        for name, arr in (("positions", self.positions), ("rotations", self.rotations)):
            if not np.all(np.isfinite(arr)):
                bad = np.unique(np.nonzero(~np.isfinite(arr))[0])
                raise MotionError(f"Motion {name} contain NaN or inf at frame(s) {bad[:5].tolist()}")

    @classmethod
    def from_positions(cls, positions: np.ndarray, fps: float = CANONICAL_FPS, skeleton: Skeleton = SMPL22,
                       refit: bool = True) -> "Motion":
        """Motion from global joint positions with rotations by the skeleton's IK. With ``refit`` the
        positions are re-derived by FK so both agree exactly; without it the given positions are kept
        (right when they already have the skeleton's bone lengths, e.g. from the simulator)."""
        positions = _real_array(positions, "positions")
        _check_joint_count(positions, skeleton)
        try:
            rot = skeleton.inverse(positions)
        except np.linalg.LinAlgError as exc:  # e.g. coordinates near the float limit: no rotation fits them
            raise MotionError(f"no joint rotations fit these positions ({exc}; coordinates too large?)") from None
        return cls(skeleton.forward(rot, positions[:, 0]) if refit else positions, rot, fps)

    @classmethod
    def from_rotations(cls, rotations: np.ndarray, root: np.ndarray, fps: float = CANONICAL_FPS,
                       skeleton: Skeleton = SMPL22) -> "Motion":
        rotations = qnormalize(_real_array(rotations, "rotations"))
        return cls(skeleton.forward(rotations, _real_array(root, "root")), rotations, fps)

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.positions.shape[1])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    @property
    def root_translation(self) -> np.ndarray:
        return self.positions[:, 0]

    def slice(self, start: int, stop: int) -> "Motion":
        return Motion(self.positions[start:stop], self.rotations[start:stop], self.fps)

    def resample(self, fps: float = CANONICAL_FPS, skeleton: Skeleton = SMPL22) -> "Motion":
        """Resample to ``fps``: slerp on rotations, linear on the root, positions from FK."""
        if not np.isfinite(fps) or fps <= 0:
            raise MotionError(f"target fps must be a positive number, got {fps}")
        if abs(fps - self.fps) < 1e-9:
            return self
        n_float = (self.num_frames - 1) * fps / self.fps
        if n_float >= MAX_FRAMES:  # e.g. a frame time of hours read from a file: no allocation of that size
            raise MotionError(f"resampling {self.num_frames} frames from {self.fps:g} to {fps:g} fps would give "
                              f"{n_float:.3g} frames (at most {MAX_FRAMES})")
        n_out = max(1, int(np.floor(n_float)) + 1)
        t = np.arange(n_out) * (self.fps / fps)
        i0 = np.clip(np.floor(t).astype(int), 0, self.num_frames - 1)
        i1 = np.clip(i0 + 1, 0, self.num_frames - 1)
        w = (t - i0)[:, None]
        root = self.positions[i0, 0] * (1 - w) + self.positions[i1, 0] * w
        rot = slerp(self.rotations[i0], self.rotations[i1], np.broadcast_to(w[:, None], (n_out, self.num_joints, 1)))
        if self.num_joints == skeleton.num_joints:
            return Motion(skeleton.forward(rot, root), rot, fps)
        pos = self.positions[i0] * (1 - w[:, None]) + self.positions[i1] * w[:, None]
        return Motion(pos, rot, fps)


def _real_array(value, name: str) -> np.ndarray:
    """``value`` as float64, or a MotionError (text, objects, complex numbers are no coordinates)."""
    if np.iscomplexobj(value):
        raise MotionError(f"Motion {name} must be real numbers, got complex values")
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise MotionError(f"Motion {name} must be an array of numbers ({str(exc)[:80]})") from None


def _check_joint_count(positions: np.ndarray, skeleton: Skeleton) -> None:
    if positions.ndim != 3 or positions.shape[1] != skeleton.num_joints or positions.shape[2] != 3:
        raise MotionError(
            f"expected joint positions of shape (T, {skeleton.num_joints}, 3), got {positions.shape}"
        )
