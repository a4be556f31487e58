"""BVH reading (any hierarchy, any Euler order, 3 or 6 channels per joint, any unit and up axis) and writing.

End Sites are points too: each is named after its joint, ``<Joint>_End`` (``<Joint>_EndSite`` when a joint
already has that name), so a joint map can place a toe on the End Site of a toe-less foot.
"""
from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from envs.errors import L2EMGError
from envs.io.bvh_units import BodyFrame, detect_body_frame
from envs.io.bvh_write import write_bvh, write_bvh_clip
from envs.quaternion import euler_to_matrix

log = logging.getLogger(__name__)
__all__ = ["BVHClip", "BVHError", "BodyFrame", "iter_bvh_folder", "parse_bvh", "read_bvh", "write_bvh", "write_bvh_clip"]

_ROT_CHANNELS = {"Xrotation", "Yrotation", "Zrotation"}
_POS_CHANNELS = {"Xposition", "Yposition", "Zposition"}


class BVHError(L2EMGError):
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
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)  # joint index -> End Site offset
    _cache: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _frames: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def end_site_names(self) -> dict[int, str]:
        """Joint index -> the name its End Site answers to in joint maps."""
        taken = set(self.names)
        return {j: f"{self.names[j]}_End" if f"{self.names[j]}_End" not in taken else f"{self.names[j]}_EndSite"
                for j in sorted(self.end_sites)}

    def point_names(self) -> list[str]:
        """Joints, then End Sites (in joint order): the names a joint map may use."""
        return list(self.names) + list(self.end_site_names.values())

    def point_parents(self) -> list[int]:
        return list(self.parents) + sorted(self.end_sites)

    def body_frame(self, units: str | float | None = "auto", up_axis: str | None = "auto") -> BodyFrame:
        """Unit and up axis of this file, declared or detected (see envs.io.bvh_units); warns on guesses.
        A declared unit that contradicts the body's height raises :class:`BVHError`."""
        key = (units, up_axis)
        if key not in self._frames:
            frames = self._points()
            try:
                frame = detect_body_frame(frames, self.rest_points(), self.point_parents(), units, up_axis)
            except ValueError as exc:
                raise BVHError(self.source, str(exc)) from None
            for note in frame.notes:
                log.warning("%s: %s (override with --units / --up-axis)", self.source, note)
            self._frames[key] = frame
        return self._frames[key]

    def unit_scale(self, units: str | float | None = "auto") -> float:
        """Metres per file unit (see :meth:`body_frame`)."""
        return self.body_frame(units, "auto").metres_per_unit

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

    def _fk(self, rot: np.ndarray, trans: np.ndarray) -> np.ndarray:
        """Global points (F, J + E, 3) in file units: joints, then End Sites."""
        glob_rot = np.empty_like(rot)
        pos = np.empty_like(trans)
        for k, p in enumerate(self.parents):
            if p < 0:
                glob_rot[:, k] = rot[:, k]
                pos[:, k] = trans[:, k]
            else:
                glob_rot[:, k] = glob_rot[:, p] @ rot[:, k]
                pos[:, k] = pos[:, p] + np.einsum("fij,fj->fi", glob_rot[:, p], trans[:, k])
        ends = [pos[:, j] + np.einsum("fij,j->fi", glob_rot[:, j], self.end_sites[j]) for j in sorted(self.end_sites)]
        return np.concatenate([pos, np.stack(ends, axis=1)], axis=1) if ends else pos

    def _points(self) -> np.ndarray:
        if self._cache is None:
            self._cache = self._fk(*self.local_transforms())
        return self._cache

    def rest_points(self) -> np.ndarray:
        """Points (J + E, 3) in file units with every rotation zero (the skeleton as its offsets draw it)."""
        rest = BVHClip(self.names, self.parents, self.offsets, self.channels, self.frame_time,
                       np.zeros((1, self.values.shape[1])), self.source, self.end_sites)
        rot, trans = rest.local_transforms()
        trans[:] = self.offsets  # position channels at zero would collapse the bones onto their parents
        return rest._fk(rot, trans)[0]

    def global_positions(self, units: str | float | None = "auto", up_axis: str | None = "auto",
                         end_sites: bool = False) -> np.ndarray:
        """Global joint positions (F, J, 3) in Y-up metres; with ``end_sites`` the End Sites follow (F, J + E, 3)."""
        points = self._points()
        points = points if end_sites else points[:, : len(self.names)]
        return self.body_frame(units, up_axis).apply(points)


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
        try:
            values = np.fromstring(body, dtype=np.float64, sep=" ")
        except ValueError:  # a token that is no number (newer numpy raises instead of stopping there)
            values = np.empty(0)
    expected = n_frames * n_channels
    if len(lines) < n_frames:
        raise BVHError(source, f"truncated: header says {n_frames} frames, found {len(lines)} frame lines")
    if len(lines) > n_frames:
        raise BVHError(source, f"header says {n_frames} frames, found {len(lines)} frame lines (more than declared)")
    if values.size != expected:
        first_bad = next((i for i, ln in enumerate(lines) if len(ln.split()) != n_channels), None)
        if first_bad is not None:
            got = len(lines[first_bad].split())
            raise BVHError(source, f"frame {first_bad} has {got} values, the hierarchy declares {n_channels} channels")
        raise BVHError(source, _first_unreadable(lines, values.size, expected))
    values = values.reshape(n_frames, n_channels)
    if not np.all(np.isfinite(values)):
        frame, col = np.argwhere(~np.isfinite(values))[0]
        raise BVHError(source, f"NaN or inf value at frame {frame}, channel {col}")
    return BVHClip(names, parents, offsets, channels, frame_time, values, source, end_sites)


def _first_unreadable(lines: list[str], parsed: int, expected: int) -> str:
    for i, ln in enumerate(lines):
        for tok in ln.split():
            try:
                float(tok)
            except ValueError:
                return f"frame {i}: unreadable value {tok[:40]!r} in the MOTION data"
    return f"unreadable value in the MOTION data (parsed {parsed} of {expected} numbers)"


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
                    if len(stack) < 2 or stack[-2] < 0:
                        raise BVHError(source, "End Site outside a joint")
                    end_sites[stack[-2]] = np.array(vec)
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
