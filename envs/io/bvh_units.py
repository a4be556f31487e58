"""How to read a BVH skeleton's numbers as a body: its length unit and its up axis, declared or detected.

BVH declares neither. Files come in centimetres (Bandai, LAFAN1, Mixamo), metres, millimetres, inches,
or the CMU conversions' unit (the ASF default: 1/0.45 inch, 5.64 cm), and Y up (the BVH habit) or Z up
(Blender and 3ds Max exports). Detection looks at the body, not at the numbers' size alone:
  - up axis: at the skeleton's first branching joint (the pelvis: legs and spine leave it), the leaves of
    the biggest branch (head, hands) lie above those of the others (feet). The motion's frames decide,
    since rest poses are often not upright (LAFAN1 and Bandai lay every bone along X at rest); the rest
    pose is used when the frames cannot tell.
  - unit: the standing height (extent along the up axis, 90th percentile over the frames, in file units)
    is read in each unit; the one giving a human height (0.9-2.4 m) wins.
Either is a guess unless declared, and the reader warns when it guesses anything but cm/m and +Y, or
when the evidence is weak. A declared unit that gives a body (a skeleton that branches into legs and
trunk) outside 0.5-3.0 m is an error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

UNITS: dict[str, float] = {"m": 1.0, "cm": 0.01, "mm": 0.001, "inch": 0.0254, "cmu": 0.0254 / 0.45, "ft": 0.3048}
UNIT_NAMES = {"cmu": "CMU (1/0.45 inch)", "inch": "inches", "ft": "feet", "m": "metres", "cm": "centimetres", "mm": "millimetres"}
AXES = ("+y", "+z", "-z", "-y", "+x", "-x")
AUTO_HEIGHT_M = (0.9, 2.4)  # a standing human, joint to joint (no hair, soles, or head top)
DECLARED_HEIGHT_M = (0.5, 3.0)
TYPICAL_HEIGHT_M = 1.6
_SAMPLE_FRAMES = 64


def parse_units(spec: str | float | None) -> tuple[str, float] | None:
    """('cm', 0.01) from a unit name or a number of metres per file unit; None for 'auto' or None."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "auto"):
        return None
    if isinstance(spec, str):
        key = spec.strip().lower()
        key = {"in": "inch", "inches": "inch", "metre": "m", "meter": "m", "centimetre": "cm", "centimeter": "cm",
               "millimetre": "mm", "millimeter": "mm", "feet": "ft", "foot": "ft", "cmu": "cmu"}.get(key, key)
        if key in UNITS:
            return key, UNITS[key]
        try:
            spec = float(key)
        except ValueError:
            raise ValueError(f"unknown unit {spec!r}: use auto, {', '.join(UNITS)} or metres per file unit (a number)") from None
    value = float(spec)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"metres per file unit must be a positive number, got {spec!r}")
    return f"{value:g} m", value


def parse_up_axis(spec: str | None) -> str | None:
    """'+z' from 'z', 'Z', '+z', '-Z' ...; None for 'auto' or None."""
    if spec is None or spec.strip().lower() == "auto":
        return None
    key = spec.strip().lower()
    key = key if key[0] in "+-" else "+" + key
    if key not in AXES:
        raise ValueError(f"unknown up axis {spec!r}: use auto, y, z, x, -y, -z or -x")
    return key


def up_rotation(axis: str) -> np.ndarray:
    """A proper rotation (det +1, so nothing is mirrored) taking ``axis`` onto +Y."""
    rows = {"+y": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "-y": [[1, 0, 0], [0, -1, 0], [0, 0, -1]],
            "+z": [[1, 0, 0], [0, 0, 1], [0, -1, 0]], "-z": [[1, 0, 0], [0, 0, -1], [0, 1, 0]],
            "+x": [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], "-x": [[0, -1, 0], [1, 0, 0], [0, 0, 1]]}
    return np.array(rows[axis], dtype=np.float64)


@dataclass(frozen=True)
class BodyFrame:
    """How one file's numbers become Y-up metres, and what was guessed on the way."""

    unit: str
    metres_per_unit: float
    up_axis: str
    height_units: float  # standing height measured in file units
    notes: tuple[str, ...] = field(default=())  # one sentence per guess worth a warning

    @property
    def height_m(self) -> float:
        return self.height_units * self.metres_per_unit

    def apply(self, points: np.ndarray) -> np.ndarray:
        """File-unit points (..., 3) -> Y-up metres."""
        out = points * self.metres_per_unit
        return out if self.up_axis == "+y" else out @ up_rotation(self.up_axis).T

    def summary(self) -> dict:
        return {"unit": self.unit, "metres_per_unit": self.metres_per_unit, "up_axis": self.up_axis,
                "height_m": round(self.height_m, 3), "guesses": list(self.notes)}


def _children(parents: list[int]) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in parents]
    for j, p in enumerate(parents):
        if p >= 0:
            kids[p].append(j)
    return kids


def _subtree(kids: list[list[int]], j: int) -> list[int]:
    out, stack = [], [j]
    while stack:
        k = stack.pop()
        out.append(k)
        stack.extend(kids[k])
    return out


def body_up_vectors(points: np.ndarray, parents: list[int]) -> np.ndarray | None:
    """Per frame (F, 3): leaves of the biggest branch at the first branching joint minus those of the others."""
    kids = _children(parents)
    j = parents.index(-1)
    while len(kids[j]) == 1:
        j = kids[j][0]
    if len(kids[j]) < 2:
        return None
    branches = sorted((_subtree(kids, c) for c in kids[j]), key=len, reverse=True)
    if len(branches[0]) == len(branches[1]):  # no branch stands out as the upper body
        return None
    leaves = [[k for k in b if not kids[k]] for b in branches]
    upper = points[:, leaves[0]].mean(axis=1)
    lower = np.mean([points[:, lv].mean(axis=1) for lv in leaves[1:]], axis=0)
    return upper - lower


def _dominant_axis(vectors: np.ndarray) -> tuple[str, float]:
    """The signed axis of the median direction and how much of the direction it carries (0..1)."""
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
    m = np.median(unit, axis=0)
    k = int(np.argmax(np.abs(m)))
    share = float(abs(m[k]) / max(np.linalg.norm(m), 1e-12))
    return ("+" if m[k] > 0 else "-") + "xyz"[k], share


def detect_body_frame(frames: np.ndarray, rest: np.ndarray, parents: list[int], units: str | float | None = "auto",
                      up_axis: str | None = "auto") -> BodyFrame:
    """The body frame of a skeleton from its points in file units: ``frames`` (F, P, 3) of the motion and
    ``rest`` (P, 3) at zero rotation; ``parents`` over the same P points (joints and End Sites).
    Declared ``units``/``up_axis`` win; detection fills the rest. Raises ValueError on a declared unit that
    contradicts the body's height."""
    notes: list[str] = []
    step = max(1, len(frames) // _SAMPLE_FRAMES)
    sample = frames[::step]
    axis = parse_up_axis(up_axis)
    if axis is None:
        axis, share = "+y", 0.0
        moving = body_up_vectors(sample, parents)
        still = body_up_vectors(rest[None], parents)
        if moving is not None:
            axis, share = _dominant_axis(moving)
        if share < 0.85 and still is not None:
            rest_axis, rest_share = _dominant_axis(still)
            if rest_share > share:
                axis, share = rest_axis, rest_share
                notes.append(f"up axis {axis} read off the rest pose (the motion does not show one)")
        if share < 0.85:
            notes.append(f"up axis {axis} is a weak guess (the body's up direction is only {share:.0%} along it)")
        elif axis != "+y":
            notes.append(f"up axis {axis} detected from the body (BVH files are usually Y up)")
    up = up_rotation(axis)[1]  # the file direction that becomes +Y
    heights = np.ptp(sample @ up, axis=1)
    height = float(np.quantile(heights, 0.9)) if len(heights) else 0.0
    declared = parse_units(units)
    if declared is not None:
        name, scale = declared
        lo, hi = DECLARED_HEIGHT_M
        is_body = body_up_vectors(rest[None], parents) is not None  # a bare chain (a test rig) has no height to check
        if is_body and not lo <= height * scale <= hi:
            guess = _guess_unit(height)[0]
            raise ValueError(f"declared unit {name} makes the body {height * scale:.3g} m tall (standing height "
                             f"{height:.4g} file units); a person is {lo}-{hi} m, this file looks like {UNIT_NAMES.get(guess, guess)}")
        return BodyFrame(name, scale, axis, height, tuple(notes))
    name, scale, note = _guess_unit(height)
    if note:
        notes.append(note)
    return BodyFrame(name, scale, axis, height, tuple(notes))


def _guess_unit(height: float) -> tuple[str, float, str]:
    if height <= 0:
        return "cm", 0.01, "unit cm is a guess: the skeleton has no height"
    lo, hi = AUTO_HEIGHT_M
    fits = [u for u, s in UNITS.items() if lo <= height * s <= hi]
    best = min(fits or UNITS, key=lambda u: abs(math.log(height * UNITS[u] / TYPICAL_HEIGHT_M)))
    implied = height * UNITS[best]
    if len(fits) != 1:
        return best, UNITS[best], (f"unit {UNIT_NAMES[best]} is a guess: a standing height of {height:.4g} file units "
                                   f"reads as {implied:.2f} m; {len(fits)} units give a human height")
    if best not in ("cm", "m"):
        return best, UNITS[best], f"unit {UNIT_NAMES[best]} detected from the standing height ({height:.4g} units = {implied:.2f} m)"
    return best, UNITS[best], ""
