"""Stick-figure rendering of a Motion to MP4 or GIF (matplotlib, headless).

Data is Y up, X left, Z forward (right-handed); matplotlib's 3D axes are Z up and right-handed too. The
plot coordinates are (x, -z, y), a rotation: plotting (x, z, y), as this module once did, swaps two axes,
a reflection, and every video came out mirror-imaged (a body seen from behind with its left on the left
of the image looked like one seen from the front). The camera is given in data terms: ``azimuth_deg`` about
+Y from +Z (0 = in front of a body facing +Z, 90 = on its left), ``elevation_deg`` above the floor.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from envs.motion.motion import Motion
from envs.skeleton import KINEMATIC_CHAINS

_CHAIN_COLOURS = ("#d62728", "#1f77b4", "#333333", "#ff7f0e", "#2ca02c")  # right leg, left leg, spine, right arm, left arm


def _plot(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Data points (..., 3), Y up, to matplotlib's (X, Y, Z), Z up: the rotation (x, y, z) -> (x, -z, y)."""
    return p[..., 0], -p[..., 2], p[..., 1]


def render_motion(motion: Motion, path: str | Path, title: str = "", ghost: Motion | None = None,
                  size: tuple[int, int] = (480, 480), max_frames: int | None = None,
                  azimuth_deg: float = 30.0, elevation_deg: float = 15.0) -> Path:
    """Write ``motion`` as an animated stick figure; the format follows the suffix (.mp4 or .gif).

    ``ghost`` (e.g. the reference a tracker followed) is drawn faintly behind, frame for frame. The default
    camera stands in front of a body facing +Z and 30 degrees to its left, 15 degrees up.
    """
    import imageio.v2 as imageio
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mpl_toolkits.mplot3d import Axes3D  # noqa: F401  (registers the 3d projection)

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise ValueError(f"{path}: render to .mp4 or .gif, not {suffix or 'no suffix'}")
    pos = motion.positions
    n = motion.num_frames if max_frames is None else min(motion.num_frames, max_frames)
    everything = pos if ghost is None else np.concatenate([pos.reshape(-1, 3), ghost.positions.reshape(-1, 3)])
    everything = everything.reshape(-1, 3)
    centre = everything.mean(axis=0)
    radius = max(0.9, 0.55 * float(np.max(np.ptp(everything, axis=0))))

    dpi = 100
    fig = plt.figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    ax = fig.add_subplot(111, projection="3d")
    # matplotlib's azimuth is measured in its X-Y plane from +X; the data camera direction (sin a, cos a) in
    # (x, z) is (sin a, -cos a) in plot (X, Y).
    az = np.deg2rad(azimuth_deg)
    ax.view_init(elev=elevation_deg, azim=float(np.degrees(np.arctan2(-np.cos(az), np.sin(az)))))
    ax.set_xlim(centre[0] - radius, centre[0] + radius)
    ax.set_ylim(-centre[2] - radius, -centre[2] + radius)
    ax.set_zlim(0, 2 * radius)
    ax.set_box_aspect((1, 1, 1))
    ax.set_xticklabels([]); ax.set_yticklabels([]); ax.set_zticklabels([])
    floor = np.linspace(-radius, radius, 2)
    fx, fy = np.meshgrid(centre[0] + floor, -centre[2] + floor)
    ax.plot_surface(fx, fy, np.zeros_like(fx), color="#dddddd", alpha=0.4)
    lines = [ax.plot([], [], [], color=c, lw=3)[0] for c in _CHAIN_COLOURS]
    ghost_lines = [ax.plot([], [], [], color="#999999", lw=2, alpha=0.5)[0] for _ in KINEMATIC_CHAINS] if ghost else []
    trail, = ax.plot([], [], [], color="#888888", lw=1)
    label = ax.set_title(title, fontsize=9)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    kwargs = {"fps": motion.fps}
    if suffix == ".mp4":
        kwargs.update(codec="libx264", quality=7, macro_block_size=1, pixelformat="yuv420p")
    else:
        kwargs = {"duration": 1000.0 / motion.fps, "loop": 0}
    try:
        with imageio.get_writer(tmp, format="FFMPEG" if suffix == ".mp4" else "GIF", **kwargs) as writer:
            for f in range(n):
                for line, chain in zip(lines, KINEMATIC_CHAINS):
                    line.set_data_3d(*_plot(pos[f, list(chain)]))
                if ghost is not None:
                    g = ghost.positions[min(f, ghost.num_frames - 1)]
                    for line, chain in zip(ghost_lines, KINEMATIC_CHAINS):
                        line.set_data_3d(*_plot(g[list(chain)]))
                px, py, _ = _plot(pos[: f + 1, 0])
                trail.set_data_3d(px, py, np.zeros(len(px)))
                label.set_text(f"{title}  {f / motion.fps:4.1f}s" if title else f"{f / motion.fps:4.1f}s")
                fig.canvas.draw()
                frame = np.asarray(fig.canvas.buffer_rgba())[..., :3]
                writer.append_data(frame)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
