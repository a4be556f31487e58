"""The procedural motion source (synth-8): deterministic by seed, all 8 emotions in 8 scenarios."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from envs.motion.motion import Motion
from envs.synth.cues import SynthConfig, load_synth_config
from envs.synth.drive import Drive
from envs.synth.families import FAMILIES, apply_posture
from envs.synth.rig import AngleRig


@dataclass
class SynthClip:
    clip_id: str
    scenario: str
    family: str
    emotion: str
    variation: int
    motion: Motion
    clamp_share: float  # share of angle samples the joint limits had to clamp
    # (T, 2) left, right: the frames each foot was built to stand on, for gaits, which place their feet first
    # (footwork.FootPlan.on_floor: a clean walk's known contacts); None for families that do not plan their feet
    planned_contacts: np.ndarray | None = None


class SynthSource:
    """Generates clips for (scenario, family, emotion, variation); the same key gives the same motion."""

    def __init__(self, config: SynthConfig | None = None, seed: int = 0) -> None:
        self.config = config or load_synth_config()
        self.seed = seed
        unknown = sorted({f for fams in self.config.scenarios.values() for f in fams} - set(FAMILIES))
        if unknown:
            raise ValueError(f"synth config names unknown motion families {unknown} (known: {sorted(FAMILIES)})")

    @property
    def emotions(self) -> list[str]:
        return list(self.config.cues)

    def keys(self) -> Iterator[tuple[str, str, str, int]]:
        for scenario, families in self.config.scenarios.items():
            for family in families:
                for emotion in self.config.cues:
                    for v in range(self.config.variations_per_family_emotion):
                        yield scenario, family, emotion, v

    def generate(self, scenario: str, family: str, emotion: str, variation: int = 0) -> SynthClip:
        if scenario not in self.config.scenarios:
            raise ValueError(f"unknown synth scenario {scenario!r} (known: {sorted(self.config.scenarios)})")
        if family not in self.config.scenarios[scenario]:
            raise ValueError(f"family {family!r} is not in scenario {scenario!r}: {self.config.scenarios[scenario]}")
        if emotion not in self.config.cues:
            raise ValueError(f"unknown emotion {emotion!r} (known: {sorted(self.config.cues)})")
        clip_id = f"synth_{scenario}_{family}_{emotion}_{variation:03d}"
        rng = np.random.default_rng(_stable_seed(self.seed, clip_id))
        cfg = self.config
        cue = cfg.cues[emotion]
        lo, hi = cfg.duration_s
        n = int(round(rng.uniform(lo, hi) * cfg.fps))
        rig = AngleRig(n, cfg.fps)
        tempo = cue.tempo * (1 + rng.uniform(-cfg.jitter.tempo, cfg.jitter.tempo))
        amp = cue.amplitude * (1 + rng.uniform(-cfg.jitter.amplitude, cfg.jitter.amplitude))
        drive = Drive(rig.t, cue, rng, tempo, amp)
        FAMILIES[family](rig, drive)
        apply_posture(rig, drive)
        motion, clamp_share = rig.build(
            yaw0_deg=rng.uniform(-180, 180), plant_tolerance_m=cfg.plant_tolerance_m, swing_clearance_m=cfg.swing_clearance_m,
            leg_smoothing_s=cfg.leg_smoothing_s, level_reach_m=cfg.level_reach_m, balance_margin_m=cfg.balance_margin_m)
        planned = np.stack([rig.feet["l"].on_floor, rig.feet["r"].on_floor], axis=1) if rig.feet else None
        return SynthClip(clip_id, scenario, family, emotion, variation, motion, clamp_share, planned)

    def __iter__(self) -> Iterator[SynthClip]:
        for key in self.keys():
            yield self.generate(*key)


def _stable_seed(seed: int, key: str) -> int:
    return int.from_bytes(hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest(), "little")
