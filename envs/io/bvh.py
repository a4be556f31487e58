"""BVH reading (any hierarchy, any Euler order, 3 or 6 channels per joint, cm or m) and writing."""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.atomic import atomic_write_text
from envs.quaternion import euler_to_matrix, matrix_to_euler, quat_to_matrix

_ROT_CHANNELS = {"Xrotation", "Yrotation", "Zrotation"}
_POS_CHANNELS = {"Xposition", "Yposition", "Zposition"}


class BVHError(ValueError):
    """A malformed BVH file; the message is one line naming the file and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass
class BVHClip:
    """A parsed BVH: joint tree, rest offsets, channel layout and the raw channel values per frame."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray  # (J, 3) in file units
    channels: list[list[str]]
    frame_time: float
    values: np.ndarray  # (F, sum of channels) in file units / degrees
    source: str = "<memory>"
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def unit_scale(self, units: str = "auto") -> float:
        """Metres per file unit: 'cm', 'm', or 'auto' (a skeleton taller than 5 units is in cm)."""
        if units == "m":
            return 1.0
        if units == "cm":
            return 0.01
        if units != "auto":
            raise ValueError(f"units must be 'auto', 'cm' or 'm', got {units!r}")
        depth = np.zeros(len(self.names))
        for j, p in enumerate(self.parents):
            if p >= 0:
                depth[j] = depth[p] + np.linalg.norm(self.offsets[j])
        return 0.01 if depth.max() > 5.0 else 1.0

    def local_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame local rotation matrices (F, J, 3, 3) and translations (F, J, 3) in file units.

        A joint with position channels takes them as its local translation (replacing its offset),
        as Blender and most motion-capture tools read them.
        """
        f, j = self.num_frames, len(self.names)
        rot = np.broadcast_to(np.eye(3), (f, j, 3, 3)).copy()
        trans = np.broadcast_to(self.offsets, (f, j, 3)).copy()
        col = 0
        for k, chans in enumerate(self.channels):
            block = self.values[:, col : col + len(chans)]
            col += len(chans)
            rot_idx = [i for i, c in enumerate(chans) if c in _ROT_CHANNELS]
            if rot_idx:
                order = "".join(chans[i][0].upper() for i in rot_idx)
                rot[:, k] = euler_to_matrix(block[:, rot_idx], order)
            pos_cols = {chans[i][0].upper(): i for i, c in enumerate(chans) if c in _POS_CHANNELS}
            for axis, comp in (("X", 0), ("Y", 1), ("Z", 2)):
                if axis in pos_cols:
                    trans[:, k, comp] = block[:, pos_cols[axis]]
        return rot, trans

    def global_positions(self, units: str = "auto") -> np.ndarray:
        """Global joint positions (F, J, 3) in metres."""
        rot, trans = self.local_transforms()
        glob_rot = np.empty_like(rot)
        pos = np.empty_like(trans)
        for k, p in enumerate(self.parents):
            if p < 0:
                glob_rot[:, k] = rot[:, k]
                pos[:, k] = trans[:, k]
            else:
                glob_rot[:, k] = glob_rot[:, p] @ rot[:, k]
                pos[:, k] = pos[:, p] + np.einsum("fij,fj->fi", glob_rot[:, p], trans[:, k])
        return pos * self.unit_scale(units)


def read_bvh(path: str | Path) -> BVHClip:
    """Parse a BVH file; raises :class:`BVHError` with the file name and the problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BVHError(str(path), f"cannot read ({exc.strerror})") from None
    return parse_bvh(text, source=str(path))


def iter_bvh_folder(folder: str | Path) -> list[Path]:
    """The .bvh files of a folder (recursively), sorted; an error if there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    files = sorted(folder.rglob("*.bvh"))
    if not files:
        raise FileNotFoundError(f"{folder}: no .bvh files in this folder")
    return files


def parse_bvh(text: str, source: str = "<memory>") -> BVHClip:
    """Parse BVH text (see :func:`read_bvh`)."""
    if not text.strip():
        raise BVHError(source, "empty file")
    split = re.search(r"^\s*MOTION\s*$", text, flags=re.MULTILINE)
    if split is None:
        raise BVHError(source, "no MOTION section")
    header, motion = text[: split.start()], text[split.end():]
    names, parents, offsets, channels, end_sites = _parse_hierarchy(header, source)
    n_channels = sum(len(c) for c in channels)

    frames_m = re.search(r"Frames:\s*(\S+)", motion)
    time_m = re.search(r"Frame\s+Time:\s*(\S+)", motion)
    if frames_m is None or time_m is None:
        raise BVHError(source, "MOTION section lacks 'Frames:' or 'Frame Time:'")
    try:
        n_frames = int(frames_m.group(1))
        frame_time = float(time_m.group(1))
    except ValueError:
        raise BVHError(source, f"bad 'Frames:'/'Frame Time:' values {frames_m.group(1)!r}/{time_m.group(1)!r}") from None
    if n_frames <= 0:
        raise BVHError(source, f"no frames (Frames: {n_frames})")
    if not np.isfinite(frame_time) or frame_time <= 0:
        raise BVHError(source, f"Frame Time must be positive, got {frame_time}")
    body = motion[time_m.end():]
    lines = [ln for ln in body.splitlines() if ln.strip()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.fromstring(body, dtype=np.float64, sep=" ")
    expected = n_frames * n_channels
    if len(lines) < n_frames:
        raise BVHError(source, f"truncated: header says {n_frames} frames, found {len(lines)} frame lines")
    if values.size != expected:
        first_bad = next((i for i, ln in enumerate(lines) if len(ln.split()) != n_channels), None)
        if first_bad is not None:
            got = len(lines[first_bad].split())
            raise BVHError(source, f"frame {first_bad} has {got} values, the hierarchy declares {n_channels} channels")
        raise BVHError(source, f"unreadable value in the MOTION data (parsed {values.size} of {expected} numbers)")
    values = values.reshape(n_frames, n_channels)
    if not np.all(np.isfinite(values)):
        frame, col = np.argwhere(~np.isfinite(values))[0]
        raise BVHError(source, f"NaN or inf value at frame {frame}, channel {col}")
    return BVHClip(names, parents, offsets, channels, frame_time, values, source, end_sites)


def _parse_hierarchy(header: str, source: str):
    tokens = header.split()
    if not tokens or tokens[0] != "HIERARCHY":
        raise BVHError(source, "missing HIERARCHY section")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[list[str]] = []
    end_sites: dict[int, np.ndarray] = {}
    stack: list[int] = []
    i = 1
    pending_end = False
    try:
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("ROOT", "JOINT"):
                names.append(tokens[i + 1])
                parents.append(stack[-1] if stack else -1)
                offsets.append([0.0, 0.0, 0.0])
                channels.append([])
                i += 2
            elif tok == "End":
                pending_end = True
                i += 2
            elif tok == "{":
                stack.append(-2 if pending_end else len(names) - 1)
                i += 1
            elif tok == "}":
                if not stack:
                    raise BVHError(source, "unbalanced '}' in HIERARCHY")
                stack.pop()
                pending_end = False
                i += 1
            elif tok == "OFFSET":
                vec = [float(t) for t in tokens[i + 1 : i + 4]]
                if len(vec) != 3:
                    raise BVHError(source, "OFFSET needs 3 numbers")
                if pending_end:
                    end_sites[len(names) - 1] = np.array(vec)
                else:
                    offsets[-1] = vec
                i += 4
            elif tok == "CHANNELS":
                count = int(tokens[i + 1])
                chans = tokens[i + 2 : i + 2 + count]
                joint = names[-1] if names else "?"
                if count not in (3, 6) or any(c not in _ROT_CHANNELS | _POS_CHANNELS for c in chans):
                    raise BVHError(source, f"joint {joint!r}: wrong channel count or name (CHANNELS {count} {' '.join(chans)})")
                if sum(c in _ROT_CHANNELS for c in chans) != 3:
                    raise BVHError(source, f"joint {joint!r}: needs exactly 3 rotation channels, got {chans}")
                channels[-1] = chans
                i += 2 + count
            else:
                raise BVHError(source, f"unexpected token {tok!r} in HIERARCHY")
    except (IndexError, ValueError) as exc:
        if isinstance(exc, BVHError):
            raise
        raise BVHError(source, f"malformed HIERARCHY near token {i} ({exc})") from None
    if stack:
        raise BVHError(source, "unbalanced '{' in HIERARCHY")
    if not names:
        raise BVHError(source, "HIERARCHY declares no joints")
    # Parents were recorded as stack indices of joints; End Site braces (-2) never parent a joint.
    return names, parents, np.asarray(offsets, dtype=np.float64), channels, end_sites


def write_bvh(path: str | Path, rotations: np.ndarray, root_positions: np.ndarray, offsets: np.ndarray,
              names: list[str] | tuple[str, ...], parents: list[int] | tuple[int, ...], fps: float,
              order: str = "ZYX", scale: float = 100.0) -> None:
    """Write local rotations (F, J, 4) and root positions (F, 3, metres) as a BVH (default cm).

    The root carries 6 channels, other joints 3; leaves get an End Site so Blender imports bone tips.
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    euler = matrix_to_euler(quat_to_matrix(rotations), order)
    euler = np.rad2deg(np.unwrap(np.deg2rad(euler), axis=0))
    children: dict[int, list[int]] = {j: [] for j in range(len(names))}
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    rot_names = " ".join(f"{a}rotation" for a in order)
    lines = ["HIERARCHY"]

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        kind = "ROOT" if parents[j] < 0 else "JOINT"
        off = offsets[j] * scale if parents[j] >= 0 else np.zeros(3)
        lines.append(f"{pad}{kind} {names[j]}")
        lines.append(f"{pad}{{")
        lines.append(f"{pad}  OFFSET {off[0]:.6f} {off[1]:.6f} {off[2]:.6f}")
        if parents[j] < 0:
            lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rot_names}")
        else:
            lines.append(f"{pad}  CHANNELS 3 {rot_names}")
        if children[j]:
            for c in children[j]:
                emit(c, depth + 1)
        else:
            tip = offsets[j] * scale * 0.5 if np.linalg.norm(offsets[j]) > 0 else np.array([0.0, 5.0, 0.0])
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {tip[0]:.6f} {tip[1]:.6f} {tip[2]:.6f}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    for root in (j for j, p in enumerate(parents) if p < 0):
        emit(root, 0)
    order_idx = []
    for root in (j for j, p in enumerate(parents) if p < 0):
        stack = [root]
        while stack:
            j = stack.pop(0)
            order_idx.append(j)
            stack = children[j] + stack
    lines += ["MOTION", f"Frames: {rotations.shape[0]}", f"Frame Time: {1.0 / fps:.8f}"]
    rows = []
    for f in range(rotations.shape[0]):
        vals = [*(np.asarray(root_positions[f]) * scale)]
        for j in order_idx:
            vals.extend(euler[f, j])
        rows.append(" ".join(f"{v:.6f}" for v in vals))
    atomic_write_text(path, "\n".join(lines + rows) + "\n")
