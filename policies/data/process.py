"""Turning one raw clip (a BVH text or a synth key) into features; runs in worker processes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.io.bandai import BandaiClipRef
from envs.io.bvh import parse_bvh
from envs.motion import Motion, encode
from envs.motion.features import canonicalise, decode_positions
from envs.retarget import JointMap, retarget


@dataclass
class ProcessedClip:
    clip_id: str
    source: str
    content: str
    style: str
    features: np.ndarray | None = None  # (N, 263) float32
    positions: np.ndarray | None = None  # (N, 22, 3) float32, canonical, aligned with features
    retarget_error_cm: float | None = None
    roundtrip_error_mm: float | None = None
    frames_source: int = 0
    source_fps: float = 0.0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


def featurise(motion: Motion) -> tuple[np.ndarray, np.ndarray, float]:
    """Features, the canonical positions they encode, and the encode->decode error in mm."""
    feats = encode(motion)
    pos, _, _ = canonicalise(motion)
    pos = pos[:-1]
    err_mm = float(np.linalg.norm(decode_positions(feats) - pos, axis=-1).mean() * 1000.0)
    return feats, pos.astype(np.float32), err_mm


def process_bandai(item: tuple[BandaiClipRef, str]) -> ProcessedClip:
    ref, text = item
    out = ProcessedClip(ref.clip_id, ref.dataset, ref.content, ref.style)
    source = f"{ref.dataset}/{ref.clip_id}.bvh"
    try:
        clip = parse_bvh(text, source=source)
        result = retarget(clip, JointMap.bandai())
        out.frames_source, out.source_fps = clip.num_frames, clip.fps
        out.retarget_error_cm = result.mean_error_m * 100.0
        if result.motion.num_frames < 2:
            raise ValueError(f"{source}: too short ({clip.num_frames} frames)")
        out.features, out.positions, out.roundtrip_error_mm = featurise(result.motion)
    except ValueError as exc:  # BVHError is a ValueError; retarget/feature errors name the file too
        msg = str(exc)
        out.error = msg if msg.startswith(source) else f"{source}: {msg}"
    return out


def process_synth(key: tuple[str, str, str, int], seed: int = 0) -> ProcessedClip:
    scenario, family, emotion, variation = key
    clip = _synth_source(seed).generate(scenario, family, emotion, variation)
    out = ProcessedClip(clip.clip_id, "synthetic", family, emotion)
    out.frames_source, out.source_fps = clip.motion.num_frames, clip.motion.fps
    # Rotations from the one position IK every source goes through (BVH, simulator, HumanML3D joints),
    # so the 6D channels mean the same thing whatever produced the motion.
    motion = Motion.from_positions(clip.motion.positions, clip.motion.fps)
    out.features, out.positions, out.roundtrip_error_mm = featurise(motion)
    out.extra = {"scenario": scenario, "clamp_share": clip.clamp_share}
    return out


_SYNTH_CACHE: dict[int, Any] = {}


def _synth_source(seed: int):
    from envs.synth import SynthSource

    if seed not in _SYNTH_CACHE:
        _SYNTH_CACHE[seed] = SynthSource(seed=seed)
    return _SYNTH_CACHE[seed]
