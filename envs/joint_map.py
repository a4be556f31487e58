"""Joint maps: where each SMPL-22 joint lies on another skeleton (docs/joint_maps.md has the format).

A map names, for every SMPL-22 joint, a point of the source skeleton: a joint or an End Site (``<Joint>_End``),
or a point between two of them, ``[a, b, t]`` = a + t (b - a). A YAML map may also declare the skeleton's
``units`` and ``up_axis`` (see envs.io.bvh_units). Every problem is a one-line ``JointMapError`` naming the
map file, the key and what is wrong; a name the skeleton lacks also names the BVH file.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from envs.errors import L2EMGError
from envs.io.bvh_units import parse_up_axis, parse_units
from envs.skeleton import JOINT_NAMES, PARENTS

MAP_KEYS = ("skeleton", "units", "up_axis", "joints")
JOINT_MAPS_DIR = Path(__file__).resolve().parents[1] / "configs" / "joint_maps"

# SMPL joint -> source joint name, or [a, b, t] for a point a + t (b - a) between two source joints.
# Bandai's Hips joint sits only ~2 cm above the hip joints and its Chest below the shoulder girdle;
# SMPL's pelvis sits ~9 cm above the hips. Moving pelvis and spine3 up their spine segments matches
# SMPL's branch geometry (retarget error 2.0 -> 0.55 cm median on dataset-1).
BANDAI_JOINT_MAP: dict[str, str | list] = {
    "pelvis": ["Hips", "Spine", 0.35], "l_hip": "UpperLeg_L", "r_hip": "UpperLeg_R", "spine1": "Spine",
    "l_knee": "LowerLeg_L", "r_knee": "LowerLeg_R", "spine2": ["Spine", "Chest", 0.5],
    "l_ankle": "Foot_L", "r_ankle": "Foot_R", "spine3": ["Chest", "Neck", 0.25], "l_foot": "Toes_L", "r_foot": "Toes_R",
    "neck": "Neck", "l_collar": "Shoulder_L", "r_collar": "Shoulder_R", "head": "Head",
    "l_shoulder": "UpperArm_L", "r_shoulder": "UpperArm_R", "l_elbow": "LowerArm_L",
    "r_elbow": "LowerArm_R", "l_wrist": "Hand_L", "r_wrist": "Hand_R",
}


class JointMapError(L2EMGError):
    """A joint-map problem, one line: ``<where>: <key>: <problem>``."""

    def __init__(self, where: str, key: str | None, problem: str) -> None:
        super().__init__(f"{where}: {key}: {problem}" if key else f"{where}: {problem}")


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _check_entry(source: str, key: str, spec) -> str | list:
    if isinstance(spec, str) and spec.strip():
        return spec.strip()
    if isinstance(spec, (list, tuple)) and len(spec) == 3 and all(isinstance(s, str) and s.strip() for s in spec[:2]):
        t = spec[2]
        if isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t):
            return [spec[0].strip(), spec[1].strip(), float(t)]
    raise JointMapError(source, key, f"expected a joint name or [joint_a, joint_b, t] with a number t, got {spec!r}")


@dataclass
class JointMap:
    """Where each SMPL-22 joint lies on a source skeleton, plus the skeleton's declared units and up axis."""

    entries: dict[str, str | list]
    source: str = "<joint map>"
    units: str | None = None
    up_axis: str | None = None
    skeleton: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.entries, dict):
            raise JointMapError(self.source, "joints", "must map each SMPL-22 joint name to a source joint")
        unknown = [k for k in self.entries if k not in JOINT_NAMES]
        if unknown:
            raise JointMapError(self.source, str(unknown[0]), f"not an SMPL-22 joint{_suggest(str(unknown[0]), list(JOINT_NAMES))}; "
                                "the keys are " + ", ".join(JOINT_NAMES))
        missing = [n for n in JOINT_NAMES if n not in self.entries]
        if missing:
            raise JointMapError(self.source, missing[0], f"missing (every SMPL-22 joint needs an entry; also missing: {missing[1:]})"
                                if len(missing) > 1 else "missing (every SMPL-22 joint needs an entry)")
        self.entries = {k: _check_entry(self.source, k, self.entries[k]) for k in JOINT_NAMES}
        for key, parse in (("units", parse_units), ("up_axis", parse_up_axis)):
            try:
                parse(getattr(self, key))
            except ValueError as exc:
                raise JointMapError(self.source, key, str(exc)) from None

    @classmethod
    def bandai(cls) -> "JointMap":
        return cls(dict(BANDAI_JOINT_MAP), "<built-in Bandai-Namco map>", "cm", "y", "Bandai-Namco-Research-Motiondataset")

    @classmethod
    def from_yaml(cls, path: str | Path) -> "JointMap":
        """Read a map file: ``joints:`` plus optional ``skeleton``, ``units``, ``up_axis``; or the older flat
        form (SMPL joint -> source joint at the top level)."""
        path = Path(path)
        if not path.is_file() and not path.suffix and (JOINT_MAPS_DIR / f"{path}.yaml").is_file():
            path = JOINT_MAPS_DIR / f"{path}.yaml"  # a shipped map by name: cmu, lafan1, mixamo, bandai
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise JointMapError(str(path), None, f"cannot read ({exc.strerror})") from None
        except yaml.YAMLError as exc:
            raise JointMapError(str(path), None, f"not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise JointMapError(str(path), None, "a joint map is a mapping (see docs/joint_maps.md)")
        if "joints" not in data:
            return cls(data, str(path))
        unknown = [k for k in data if k not in MAP_KEYS]
        if unknown:
            raise JointMapError(str(path), str(unknown[0]), f"unknown key{_suggest(str(unknown[0]), list(MAP_KEYS))}; "
                                f"a map has {', '.join(MAP_KEYS)}")
        return cls(data["joints"], str(path), data.get("units"), data.get("up_axis"), str(data.get("skeleton") or ""))

    def names_used(self) -> dict[str, list[str]]:
        """Source name -> the SMPL keys that use it."""
        used: dict[str, list[str]] = {}
        for key, spec in self.entries.items():
            for name in ([spec] if isinstance(spec, str) else spec[:2]):
                used.setdefault(name, []).append(key)
        return used

    def check_names(self, names: list[str], bvh: str = "") -> None:
        """Every name the map uses must be a joint or End Site of the skeleton; the error names both files."""
        where = f"{bvh}: joint map {self.source}" if bvh else self.source
        for name, keys in self.names_used().items():
            if name not in names:
                raise JointMapError(where, keys[0], f"names {name!r}, which is not a joint or End Site of this skeleton"
                                    f"{_suggest(name, names)}")

    def source_joint(self, key: str) -> str | None:
        """The one source point an SMPL joint is mapped to (None for a point between two)."""
        spec = self.entries[key]
        return spec if isinstance(spec, str) else None

    def apply(self, names: list[str], positions: np.ndarray, source: str = "") -> np.ndarray:
        """Source positions (F, P, 3) over ``names`` -> SMPL-22 positions (F, 22, 3). A bone whose two ends
        fall on one point (two keys mapped to the same joint) is an error naming both keys."""
        self.check_names(names, source)
        index = {n: i for i, n in enumerate(names)}
        out = np.empty((positions.shape[0], len(JOINT_NAMES), 3))
        for j, key in enumerate(JOINT_NAMES):
            spec = self.entries[key]
            if isinstance(spec, str):
                out[:, j] = positions[:, index[spec]]
            else:
                a, b, t = spec
                out[:, j] = positions[:, index[a]] + t * (positions[:, index[b]] - positions[:, index[a]])
        lengths = np.median(np.linalg.norm(out[:, 1:] - out[:, list(PARENTS[1:])], axis=-1), axis=0)
        for j in np.flatnonzero(lengths < 1e-3) + 1:
            where = f"{source}: joint map {self.source}" if source else self.source
            raise JointMapError(where, JOINT_NAMES[j], f"lies on {JOINT_NAMES[PARENTS[j]]} (the bone between them has no "
                                f"length): map {JOINT_NAMES[j]} to a point further along the limb")
        return out
