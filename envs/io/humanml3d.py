"""HumanML3D-layout folders, read and written exactly: ``new_joints/``, ``new_joint_vecs/``, ``texts/``,
``Mean.npy``/``Std.npy`` and the split lists.

Files in such a folder follow the official pipeline (``envs.motion.hml3d``, the official convention unless
told otherwise). Reading keeps the file's joint positions as they are (``new_joints``, or else the
official ``recover_from_ric`` of ``new_joint_vecs``, which both conventions share); rotations come from
the project's IK on those positions, since the official rot block holds bone swings only (no twist) and
the positions already carry the same directions. Writing runs the official ``process_file`` and saves
what the official scripts save: the features, ``recover_from_ric`` of them (float32) as new_joints, the
captions, and HumanML3D's mean/std over the written clips.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from envs.atomic import atomic_write_bytes, atomic_write_text
from envs.motion import FEATURE_DIM, Motion
from envs.motion.features import decode_positions
from envs.motion.hml3d import encode_official
from envs.motion.motion import CANONICAL_FPS
from envs.motion.stats import FeatureStats


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
    """Yield every motion of the folder. Positions are the file's own (``new_joints``, else decoded from
    ``new_joint_vecs`` by the official ``recover_from_ric``), never refitted onto the project's skeleton.
    Raises ``ValueError``/``FileNotFoundError`` naming the file."""
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
            source = joint_path
        elif feats is not None:
            joints, source = decode_positions(feats), vec_path
        else:
            raise FileNotFoundError(f"{folder}: no motion file for {name!r}")
        try:
            motion = Motion.from_positions(joints, CANONICAL_FPS, refit=False)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
        yield HumanML3DItem(name, motion, feats, _read_captions(texts_dir / f"{name}.txt"))


def read_humanml3d_stats(folder: str | Path) -> FeatureStats | None:
    """The folder's ``Mean.npy``/``Std.npy`` (None when it has neither)."""
    folder = Path(folder)
    if not (folder / "Mean.npy").exists() and not (folder / "Std.npy").exists():
        return None
    return FeatureStats.load_humanml3d(folder)


@dataclass
class HumanML3DClip:
    """One clip to write: a name, joint positions (T, 22, 3) at 20 fps (Y up, metres) or a Motion, captions."""

    name: str
    motion: Motion | np.ndarray
    captions: list[HumanML3DCaption | str] = field(default_factory=list)


def write_humanml3d(folder: str | Path, clips: Iterable[HumanML3DClip], convention: str = "official",
                    split: str | None = "all") -> list[str]:
    """Write clips as a HumanML3D folder (features by the official ``process_file``); returns the names.

    A Motion at another frame rate is resampled to 20 fps first. ``Mean.npy``/``Std.npy`` are HumanML3D's
    statistics over the clips written; ``split`` names the list file (``all.txt``) of the clip names.
    """
    folder = Path(folder)
    written, features = [], []
    for clip in clips:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", clip.name):
            raise ValueError(f"{folder}: clip name {clip.name!r} must be letters, digits, '_', '.' or '-'")
        if isinstance(clip.motion, Motion):
            positions = clip.motion.resample(CANONICAL_FPS).positions
        else:
            positions = np.asarray(clip.motion, dtype=np.float64)
        try:
            feats = encode_official(positions, convention)
        except ValueError as exc:
            raise ValueError(f"{folder}: clip {clip.name!r}: {exc}") from None
        _save_npy(folder / "new_joint_vecs" / f"{clip.name}.npy", feats)
        _save_npy(folder / "new_joints" / f"{clip.name}.npy", decode_positions(feats).astype(np.float32))
        atomic_write_text(folder / "texts" / f"{clip.name}.txt", "".join(_caption_line(c) for c in clip.captions))
        written.append(clip.name)
        features.append(feats)
    if not written:
        raise ValueError(f"{folder}: no clips to write")
    FeatureStats.fit_humanml3d(features).save_humanml3d(folder)
    if split:
        atomic_write_text(folder / f"{split}.txt", "\n".join(written) + "\n")
    return written


def _save_npy(path: Path, array: np.ndarray) -> None:
    buf = io.BytesIO()
    np.save(buf, array)
    atomic_write_bytes(path, buf.getvalue())


def _caption_line(caption: HumanML3DCaption | str) -> str:
    """``caption#tokens#start#end``; tokens default to ``word/OTHER`` (no part-of-speech tagger here)."""
    if isinstance(caption, str):
        words = re.findall(r"[a-z0-9']+", caption.lower())
        caption = HumanML3DCaption(caption.strip(), " ".join(f"{w}/OTHER" for w in words), 0.0, 0.0)
    if "#" in caption.text or "\n" in caption.text:
        raise ValueError(f"caption {caption.text!r} may not contain '#' or a line break")
    return f"{caption.text}#{caption.tokens}#{caption.start_s:g}#{caption.end_s:g}\n"


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
