"""Fixture builders shared by tests: Bandai-like BVH files and folders made from synthetic motion."""
from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from envs.io.bvh import write_bvh
from envs.motion import Motion
from envs.skeleton import PARENTS, SMPL22

# SMPL joint -> a Bandai-style name (spine2 becomes an extra joint the Bandai map ignores).
BANDAI_STYLE_NAMES = [
    "Hips", "UpperLeg_L", "UpperLeg_R", "Spine", "LowerLeg_L", "LowerLeg_R", "Spine2", "Foot_L", "Foot_R",
    "Chest", "Toes_L", "Toes_R", "Neck", "Shoulder_L", "Shoulder_R", "Head", "UpperArm_L", "UpperArm_R",
    "LowerArm_L", "LowerArm_R", "Hand_L", "Hand_R",
]


def bandai_style_bvh(path: Path, motion: Motion) -> Path:
    m30 = motion.resample(30.0)
    write_bvh(path, m30.rotations, m30.positions[:, 0], SMPL22.offsets, BANDAI_STYLE_NAMES, PARENTS, 30.0)
    return path


def make_bandai_root(root: Path, synth, bad: dict[str, str] | None = None) -> Path:
    """A small Bandai-Namco layout: dataset-1 as files, dataset-2 as a tar.xz; ``bad`` adds broken files."""
    d1 = root / "dataset-1" / "data"
    d1.mkdir(parents=True)
    clips1 = [("walk", "sad", "daily_life", "walk", "sad"), ("walk", "happy", "daily_life", "walk", "happy"),
              ("bow", "angry", "daily_life", "bow", "angry"), ("bow", "old", "daily_life", "bow", "tired"),
              ("run", "proud", "sports", "run", "proud"), ("punch", "normal", "sports", "punch", "neutral"),
              ("bye", "not-confident", "daily_life", "wave", "anxious"), ("dance-short", "normal", "dance", "sway", "neutral")]
    for i, (content, style, scen, fam, emo) in enumerate(clips1):
        bandai_style_bvh(d1 / f"dataset-1_{content}_{style}_001.bvh", synth.generate(scen, fam, emo, i).motion)
        (d1 / f"dataset-1_{content}_{style}_001.json").write_text(json.dumps({"content": 0, "style": 0}))
    for name, text in (bad or {}).items():
        (d1 / name).write_text(text)
    d2 = root / "dataset-2"
    d2.mkdir()
    with tarfile.open(d2 / "data.tar.xz", "w:xz") as tar:
        for i, (content, style, scen, fam, emo) in enumerate([
            ("raise-up-left-hand", "exhausted", "daily_life", "reach_up", "tired"),
            ("wave-both-hands", "active", "dance", "arm_wave", "energetic"),
            ("walk-turn-left", "elderly", "daily_life", "walk", "sad"),
        ]):
            tmp = root / "tmp.bvh"
            bandai_style_bvh(tmp, synth.generate(scen, fam, emo, i).motion)
            data = tmp.read_bytes()
            info = tarfile.TarInfo(f"data/dataset-2_{content}_{style}_{i:03d}.bvh")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tmp.unlink()
    return root


def still_motion(pose: Motion, frames: int) -> Motion:
    """``pose``'s first frame held for ``frames`` frames."""
    import numpy as np

    return Motion(np.repeat(pose.positions[:1], frames, 0), np.repeat(pose.rotations[:1], frames, 0), pose.fps)


def lifted(m: Motion, start_s: float, stop_s: float, dy: float, ramp_s: float = 0.2) -> Motion:
    """``m`` with the whole body raised by ``dy`` metres (Y up) between two times, ramped in and out."""
    import numpy as np

    t = np.arange(m.num_frames) / m.fps
    w = np.clip(np.minimum(t - start_s, stop_s - t) / ramp_s, 0, 1)
    pos = m.positions.copy()
    pos[..., 1] += dy * w[:, None]
    return Motion(pos, m.rotations, m.fps)


def leaned(m: Motion, degrees: float) -> Motion:
    """``m`` tipped forward as one rigid body about its toes, by ``degrees``: the centre of mass ends up
    ahead of the soles and stays there (Y up; forward is the side the toes point to)."""
    import numpy as np

    from envs.quaternion import qfrom_axis_angle, qmul, qrot

    pos, rot = m.positions.copy(), m.rotations.copy()
    across = pos[0, 1] - pos[0, 2]
    across[1] = 0.0
    fwd = np.cross(across / np.linalg.norm(across), [0.0, 1.0, 0.0])
    toes = pos[0, [10, 11]].mean(0) - pos[0, [7, 8]].mean(0)
    if np.dot(fwd, toes) < 0:
        fwd = -fwd
    q = qfrom_axis_angle(np.cross([0.0, 1.0, 0.0], fwd)[None], np.array([np.deg2rad(degrees)]))[0]
    pivot = pos[:, [10, 11]].mean(1, keepdims=True)
    pivot[..., 1] = pos[:, [10, 11], 1].min()
    pos = qrot(np.broadcast_to(q, pos.shape[:-1] + (4,)), pos - pivot) + pivot
    rot[:, 0] = qmul(np.broadcast_to(q, rot[:, 0].shape), rot[:, 0])
    return Motion(pos, rot, m.fps)


def dataset1_clip(bandai_root: Path, name: str) -> Motion:
    """Dataset-1's clip ``name`` (e.g. ``walk_normal_001``) retargeted to the body."""
    from envs.io.bvh import read_bvh
    from envs.retarget import JointMap, retarget

    return retarget(read_bvh(bandai_root / "dataset-1" / "data" / f"dataset-1_{name}.bvh"), JointMap.bandai()).motion


def without_lookahead(config):
    """``config`` (an ExecutorConfig) with the look-ahead among stepping variants off: an ablation test that reads what
    one part of the controller is worth reads it on the controller alone (the look-ahead keeps some of those clips
    either way; envs/executor/lookahead.py)."""
    import dataclasses

    return dataclasses.replace(config, lookahead=dataclasses.replace(config.lookahead, enabled=False))
