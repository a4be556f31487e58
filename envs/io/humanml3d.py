"""Reading a HumanML3D-layout folder: ``new_joints/*.npy``, ``new_joint_vecs/*.npy`` and ``texts/*.txt``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from envs.motion import FEATURE_DIM, Motion, decode
from envs.motion.motion import CANONICAL_FPS


@dataclass
class HumanML3DCaption:
    text: str
    tokens: str
    start_s: float  # 0 with end 0 means the whole clip
    end_s: float


@dataclass
class HumanML3DItem:
    name: str
    motion: Motion
    features: np.ndarray | None
    captions: list[HumanML3DCaption] = field(default_factory=list)


def read_humanml3d(folder: str | Path, names: list[str] | None = None) -> Iterator[HumanML3DItem]:
    """Yield every motion of the folder; positions come from ``new_joints`` when present, else from
    decoding ``new_joint_vecs``. Raises ``ValueError``/``FileNotFoundError`` naming the file."""
    folder = Path(folder)
    joints_dir, vecs_dir, texts_dir = folder / "new_joints", folder / "new_joint_vecs", folder / "texts"
    if not joints_dir.is_dir() and not vecs_dir.is_dir():
        raise FileNotFoundError(f"{folder}: not a HumanML3D folder (needs new_joints/ or new_joint_vecs/)")
    if names is None:
        stems = {p.stem for d in (joints_dir, vecs_dir) if d.is_dir() for p in d.glob("*.npy")}
        names = sorted(stems)
    if not names:
        raise FileNotFoundError(f"{folder}: no .npy motions in new_joints/ or new_joint_vecs/")
    for name in names:
        feats = None
        vec_path = vecs_dir / f"{name}.npy"
        if vec_path.is_file():
            feats = np.load(vec_path, allow_pickle=False)
            if feats.ndim != 2 or feats.shape[1] != FEATURE_DIM:
                raise ValueError(f"{vec_path}: expected features of shape (T, {FEATURE_DIM}), got {feats.shape}")
            if not np.all(np.isfinite(feats)):
                raise ValueError(f"{vec_path}: features contain NaN or inf")
        joint_path = joints_dir / f"{name}.npy"
        if joint_path.is_file():
            joints = np.load(joint_path, allow_pickle=False)
            if joints.ndim != 3 or joints.shape[1:] != (22, 3):
                raise ValueError(f"{joint_path}: expected joints of shape (T, 22, 3), got {joints.shape}")
            try:
                motion = Motion.from_positions(joints, CANONICAL_FPS)
            except ValueError as exc:
                raise ValueError(f"{joint_path}: {exc}") from None
        elif feats is not None:
            motion = decode(feats, CANONICAL_FPS)
        else:
            raise FileNotFoundError(f"{folder}: no motion file for {name!r}")
        yield HumanML3DItem(name, motion, feats, _read_captions(texts_dir / f"{name}.txt"))


def _read_captions(path: Path) -> list[HumanML3DCaption]:
    if not path.is_file():
        return []
    out = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        parts = line.strip().split("#")
        if len(parts) < 4:
            raise ValueError(f"{path}: line {i + 1} is not 'caption#tokens#start#end'")
        try:
            start, end = float(parts[2] or 0), float(parts[3] or 0)
        except ValueError:
            raise ValueError(f"{path}: line {i + 1} has a non-numeric start/end") from None
        out.append(HumanML3DCaption(parts[0], parts[1], 0.0 if np.isnan(start) else start, 0.0 if np.isnan(end) else end))
    return out
