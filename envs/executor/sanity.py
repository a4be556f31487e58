"""Is a reference something a body could do at all? Checks made before any simulation.

A generated motion can hold numbers no body can follow: NaN, stretches with both feet far above the
floor while the body is not in ballistic flight (floating), feet deep below the floor (sinking), or
a root or joint that jumps faster than a human can move between two frames (teleporting). Simulating
such a reference only produces a confusing ``fell`` or ``unstable``; here each becomes a failure whose
reason names the problem (``nan_reference``, ``floating_reference``, ``sinking_reference``,
``teleporting_reference``). The thresholds live in ``configs/executor.yaml`` (``sanity``), each with
its physical reason and the figures measured on real mocap (Bandai dataset-1), which must all pass.

The checks read the Motion itself (Y up, its own frame rate), not the executor's control-rate
reference: a jump between two frames is clearest at the rate it was written at, and the checks then
also run where no MuJoCo model exists.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.motion.motion import Motion
from envs.skeleton import FOOT_CLEARANCE

GRAVITY = 9.81
_FEET = list(FOOT_CLEARANCE)
_CLEARANCE = np.array([FOOT_CLEARANCE[j] for j in _FEET])


@dataclass(frozen=True)
class SanityConfig:
    """Limits of a trackable reference (see configs/executor.yaml for each value's reason)."""

    enabled: bool = True
    still_speed: float = 0.5  # m/s: the lowest foot moving slower than this is standing (defines the floor)
    float_height: float = 0.15  # m the lowest foot may be above the floor before the body counts as airborne
    max_airborne_s: float = 1.0  # s: the longest flight of a human jump
    ballistic_check_s: float = 0.3  # s: airborne stretches at least this long must be falling freely
    min_fall_share: float = 0.5  # ... with a vertical root acceleration below -min_fall_share * g
    sink_depth: float = 0.08  # m the lowest foot may be below the floor
    max_sink_s: float = 0.1  # s it may stay there
    max_root_speed: float = 15.0  # m/s, root translation between two frames
    max_root_angular_speed: float = 40.0  # rad/s, root rotation between two frames
    max_joint_speed: float = 40.0  # m/s, any joint relative to the root between two frames

    def __post_init__(self) -> None:
        for name in ("still_speed", "float_height", "max_airborne_s", "ballistic_check_s", "sink_depth",
                     "max_sink_s", "max_root_speed", "max_root_angular_speed", "max_joint_speed"):
            if not getattr(self, name) > 0:
                raise ValueError(f"sanity.{name} must be positive, got {getattr(self, name)}")
        if not 0 < self.min_fall_share <= 1:
            raise ValueError(f"sanity.min_fall_share must be in (0, 1], got {self.min_fall_share}")


@dataclass(frozen=True)
class SanityFigures:
    """What the checks measure on one Motion (the calibration figures of configs/executor.yaml)."""

    finite: bool
    floor_m: float  # height (Y) of the floor the clip stands on, before the executor grounds it
    highest_m: float  # highest point of the lowest foot above the floor (m)
    longest_airborne_s: float  # longest stretch with the lowest foot above float_height
    worst_airborne_accel: float  # highest fitted vertical root acceleration (m/s^2) of a checked airborne stretch
    longest_sunk_s: float  # longest stretch with the lowest foot below -sink_depth
    deepest_sink_m: float  # lowest foot's deepest point below the floor (m, >= 0)
    root_speed: float  # fastest root translation between two frames (m/s)
    root_angular_speed: float  # fastest root rotation (rad/s)
    joint_speed: float  # fastest joint motion relative to the root (m/s)


@dataclass(frozen=True)
class SanityProblem:
    reason: str  # nan_reference | floating_reference | sinking_reference | teleporting_reference
    detail: str
    at_s: float | None = None


def measure(motion: Motion, config: SanityConfig | None = None) -> SanityFigures:
    """The figures every check compares with its limit."""
    cfg = config or SanityConfig()
    pos, rot, fps = motion.positions, motion.rotations, float(motion.fps)
    finite = bool(np.isfinite(pos).all() and np.isfinite(rot).all())
    if not finite or motion.num_frames < 2:
        nan = float("nan")
        return SanityFigures(finite, nan, nan, 0.0, nan, 0.0, 0.0, 0.0, 0.0, 0.0)
    low, which = _lowest_foot(pos)
    floor = _floor(pos, low, which, fps, cfg.still_speed)
    height = low - floor
    airborne = _runs(height > cfg.float_height)
    sunk = _runs(height < -cfg.sink_depth)
    accel = [_vertical_accel(pos[a:b, 0, 1], fps) for a, b in airborne if (b - a) / fps >= cfg.ballistic_check_s]
    root = np.linalg.norm(np.diff(pos[:, 0], axis=0), axis=-1) * fps
    rel = pos - pos[:, :1]
    joints = np.linalg.norm(np.diff(rel, axis=0), axis=-1).max(axis=1) * fps
    return SanityFigures(
        finite=True, floor_m=float(floor), highest_m=float(height.max()),
        longest_airborne_s=max(((b - a) / fps for a, b in airborne), default=0.0),
        worst_airborne_accel=max(accel, default=float("-inf")),
        longest_sunk_s=max(((b - a) / fps for a, b in sunk), default=0.0),
        deepest_sink_m=float(max(0.0, -height.min())),
        root_speed=float(root.max()), root_angular_speed=float(_root_angular_speed(rot[:, 0], fps).max()),
        joint_speed=float(joints.max()))


def check_motion(motion: Motion, config: SanityConfig | None = None) -> SanityProblem | None:
    """The first problem found (NaN, teleporting, sinking, floating, in that order), or None."""
    cfg = config or SanityConfig()
    pos, rot, fps = motion.positions, motion.rotations, float(motion.fps)
    if not (np.isfinite(pos).all() and np.isfinite(rot).all()):
        frames = np.unique(np.nonzero(~(np.isfinite(pos).all(axis=(1, 2)) & np.isfinite(rot).all(axis=(1, 2))))[0])
        return SanityProblem("nan_reference", f"non-finite values at frame(s) {frames[:5].tolist()}", float(frames[0] / fps))
    norms = np.linalg.norm(rot, axis=-1)
    if np.abs(norms - 1.0).max() > 0.1:
        # Not a rotation: normalising a (near) zero quaternion would put NaN into the joint angles.
        frame = int(np.argmax(np.abs(norms - 1.0).max(axis=1)))
        return SanityProblem("nan_reference", f"rotation quaternion of norm {norms[frame].min():.3g} at frame {frame}", frame / fps)
    if motion.num_frames < 2:
        return None
    problem = _teleport(pos, rot, fps, cfg)
    if problem is not None:
        return problem
    low, which = _lowest_foot(pos)
    height = low - _floor(pos, low, which, fps, cfg.still_speed)
    for a, b in _runs(height < -cfg.sink_depth):
        if (b - a) / fps > cfg.max_sink_s:
            return SanityProblem("sinking_reference", f"the feet are {-height[a:b].min():.2f} m below the floor for "
                                 f"{(b - a) / fps:.2f} s (limit {cfg.sink_depth} m for {cfg.max_sink_s} s)", a / fps)
    for a, b in _runs(height > cfg.float_height):
        seconds = (b - a) / fps
        if seconds > cfg.max_airborne_s:
            return SanityProblem("floating_reference", f"both feet above {cfg.float_height} m for {seconds:.2f} s, longer "
                                 f"than a human jump's flight ({cfg.max_airborne_s} s)", a / fps)
        if seconds >= cfg.ballistic_check_s:
            acc = _vertical_accel(pos[a:b, 0, 1], fps)
            if acc > -cfg.min_fall_share * GRAVITY:
                return SanityProblem("floating_reference", f"both feet above {cfg.float_height} m for {seconds:.2f} s while "
                                     f"the body is not falling (vertical acceleration {acc:.1f} m/s^2, flight is -{GRAVITY})", a / fps)
    return None


def _teleport(pos: np.ndarray, rot: np.ndarray, fps: float, cfg: SanityConfig) -> SanityProblem | None:
    """Speeds between consecutive frames above what a human body reaches. (Accelerations are not checked:
    landings and the procedural source's hops change velocity within a frame, 190 m/s^2 measured.)"""
    rel = pos - pos[:, :1]
    checks = ((np.linalg.norm(np.diff(pos[:, 0], axis=0), axis=-1) * fps, cfg.max_root_speed, "the root moves", "m/s"),
              (_root_angular_speed(rot[:, 0], fps), cfg.max_root_angular_speed, "the root turns", "rad/s"),
              (np.linalg.norm(np.diff(rel, axis=0), axis=-1).max(axis=1) * fps, cfg.max_joint_speed,
               "a joint moves (relative to the root)", "m/s"))
    for values, limit, what, unit in checks:
        if values.max() > limit:
            k = int(np.argmax(values))
            return SanityProblem("teleporting_reference", f"{what} at {values[k]:.1f} {unit} between frames {k} and {k + 1} "
                                 f"(limit {limit} {unit}: faster than a human body can)", k / fps)
    return None


def _lowest_foot(pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the height of the lowest foot point above its flat-sole clearance, and which point it is."""
    h = pos[:, _FEET, 1] - _CLEARANCE
    which = np.argmin(h, axis=1)
    return h[np.arange(len(h)), which], which


def _floor(pos: np.ndarray, low: np.ndarray, which: np.ndarray, fps: float, still_speed: float) -> float:
    """The floor the clip stands on: the median height of the lowest foot point over the frames it stands
    still (a stance foot does not slide). A median, so that a bad stretch shorter than half the standing
    time does not move the floor; the executor's own grounding (lowest point of the whole clip) would
    make a sunk stretch look like the rest of the clip floating."""
    feet = pos[:, _FEET]
    speed = np.zeros(len(pos))
    idx = np.arange(len(pos) - 1)
    speed[:-1] = np.linalg.norm(feet[idx + 1, which[:-1]] - feet[idx, which[:-1]], axis=-1) * fps
    speed[-1] = speed[-2]
    still = speed < still_speed
    return float(np.median(low[still] if still.any() else low))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) of each stretch of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.nonzero(edges == 1)[0].tolist(), np.nonzero(edges == -1)[0].tolist()))


def _vertical_accel(height: np.ndarray, fps: float) -> float:
    """Vertical acceleration of a least-squares parabola through a stretch of root heights (m/s^2); -inf
    (taken as falling) when fewer than three frames cannot tell."""
    if len(height) < 3:
        return float("-inf")
    t = np.arange(len(height)) / fps
    return float(2.0 * np.polyfit(t, height, 2)[0])


def _root_angular_speed(q: np.ndarray, fps: float) -> np.ndarray:
    """Rotation angle between consecutive root orientations times the frame rate (rad/s)."""
    dot = np.abs(np.sum(q[1:] * q[:-1], axis=-1)) / np.maximum(np.linalg.norm(q[1:], axis=-1) * np.linalg.norm(q[:-1], axis=-1), 1e-12)
    return 2.0 * np.arccos(np.clip(dot, -1.0, 1.0)) * fps
