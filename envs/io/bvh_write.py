"""BVH writing: any parsed clip back to a file (``write_bvh_clip``), and SMPL-22 motion (``write_bvh``).

``write_bvh_clip`` writes what the reader keeps: joint tree, every OFFSET (the root's too), each joint's
channels in their order, End Sites where the file had them, the frame time and every channel value, so
reading the output gives the same clip (values to 1e-6 of a file unit).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Protocol

import numpy as np

from envs.atomic import atomic_write_text
from envs.quaternion import matrix_to_euler, quat_to_matrix


class ClipLike(Protocol):
    names: list[str]
    parents: list[int]
    offsets: np.ndarray
    channels: list[list[str]]
    frame_time: float
    values: np.ndarray
    end_sites: dict[int, np.ndarray]


def _fmt(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".") if abs(v) >= 1e-6 else "0"


def _hierarchy(names, parents, offsets, channels, end_sites) -> tuple[list[str], list[int]]:
    """HIERARCHY lines and the joint order (depth first) in which the MOTION columns are written."""
    children: dict[int, list[int]] = {j: [] for j in range(len(names))}
    for j, p in enumerate(parents):
        if p >= 0:
            children[p].append(j)
    lines, order = ["HIERARCHY"], []

    def emit(j: int, depth: int) -> None:
        pad = "  " * depth
        order.append(j)
        lines.extend([f"{pad}{'ROOT' if parents[j] < 0 else 'JOINT'} {names[j]}", f"{pad}{{",
                      f"{pad}  OFFSET {' '.join(_fmt(v) for v in offsets[j])}",
                      f"{pad}  CHANNELS {len(channels[j])} {' '.join(channels[j])}"])
        for c in children[j]:
            emit(c, depth + 1)
        if j in end_sites:
            lines.extend([f"{pad}  End Site", f"{pad}  {{", f"{pad}    OFFSET {' '.join(_fmt(v) for v in end_sites[j])}", f"{pad}  }}"])
        lines.append(f"{pad}}}")

    for root in (j for j, p in enumerate(parents) if p < 0):
        emit(root, 0)
    return lines, order


def write_bvh_clip(path: str | Path, clip: ClipLike) -> None:
    """Write a clip as read by ``envs.io.bvh`` (atomically). Channel columns follow the written joint order."""
    atomic_write_text(path, bvh_text(clip))


def bvh_text(clip: ClipLike) -> str:
    """The BVH file ``write_bvh_clip`` writes, as text."""
    names, parents = list(clip.names), list(clip.parents)
    lines, order = _hierarchy(names, parents, np.asarray(clip.offsets), clip.channels, clip.end_sites)
    starts = np.cumsum([0] + [len(c) for c in clip.channels])
    columns = np.concatenate([np.arange(starts[j], starts[j + 1]) for j in order]).astype(int)
    values = np.asarray(clip.values)[:, columns]
    lines += ["MOTION", f"Frames: {values.shape[0]}", f"Frame Time: {clip.frame_time:.8f}"]
    lines += [" ".join(f"{v:.6f}" for v in row) for row in values]
    return "\n".join(lines) + "\n"


def write_bvh(path: str | Path, rotations: np.ndarray, root_positions: np.ndarray, offsets: np.ndarray,
              names: list[str] | tuple[str, ...], parents: list[int] | tuple[int, ...], fps: float,
              order: str = "ZYX", scale: float = 100.0, end_sites: dict[int, np.ndarray] | None = None,
              root_offset: np.ndarray | None = None) -> None:
    """Write local rotations (F, J, 4) and root positions (F, 3, metres) as a BVH (default cm).

    The root carries 6 channels, other joints 3 in ``order``. ``end_sites`` (joint -> offset, metres) are
    written where given; without them every leaf gets an End Site half its bone long along the bone, a tip
    for viewers such as Blender (SMPL-22 has no data for it). ``root_offset`` (metres) is written as the root's
    OFFSET (its rest position); the position channels hold the root's position itself, which is how this
    reader and Blender take a joint's position channels.
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    euler = matrix_to_euler(quat_to_matrix(rotations), order)
    euler = np.rad2deg(np.unwrap(np.deg2rad(euler), axis=0))
    offsets = np.asarray(offsets, dtype=np.float64) * scale
    root_off = np.zeros(3) if root_offset is None else np.asarray(root_offset, dtype=np.float64) * scale
    if end_sites is None:
        kids = {p for p in parents if p >= 0}
        end_sites = {j: (offsets[j] * 0.5 if np.linalg.norm(offsets[j]) > 0 else np.array([0.0, 5.0, 0.0]))
                     for j in range(len(names)) if j not in kids}
    else:
        end_sites = {j: np.asarray(v, dtype=np.float64) * scale for j, v in end_sites.items()}
    offsets = offsets.copy()
    for j, p in enumerate(parents):
        if p < 0:
            offsets[j] = root_off
    rot_names = [f"{a}rotation" for a in order]
    channels = [(["Xposition", "Yposition", "Zposition"] if p < 0 else []) + rot_names for p in parents]
    roots = [j for j, p in enumerate(parents) if p < 0]
    cols = []
    for j, p in enumerate(parents):
        if p < 0:
            cols.append(np.asarray(root_positions, dtype=np.float64) * scale)
        cols.append(euler[:, j])
    values = np.concatenate(cols, axis=1)
    if len(roots) != 1:
        raise ValueError(f"a BVH needs exactly one root joint, got {len(roots)}")

    write_bvh_clip(path, SimpleNamespace(names=list(names), parents=list(parents), offsets=offsets, channels=channels,
                                         frame_time=1.0 / fps, values=values, end_sites=end_sites))
