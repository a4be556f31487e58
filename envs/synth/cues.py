"""Configuration of the procedural source: per-emotion body cues and scenario families."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from envs.config import config_dir, load_config


@dataclass(frozen=True)
class EmotionCues:
    """How an emotion shows in the body (DESIGN §4). Angles in degrees; others are multipliers."""

    tempo: float
    amplitude: float
    trunk_flex: float  # forward lean of the spine (+ flexed)
    head_pitch: float  # + head down
    bounce: float  # vertical springiness of steps and idle
    sharpness: float  # 0 smooth .. 1 abrupt (raises jerk)
    arm_spread: float  # arm abduction multiplier (< 1 arms held in)
    shoulder_raise: float  # collar elevation
    chest_out: float  # upper-spine extension and shoulders back
    fidget: float  # small fast restless movements
    hesitation: float  # stop-and-go in the tempo


@dataclass(frozen=True)
class Jitter:
    tempo: float = 0.08
    amplitude: float = 0.12


@dataclass(frozen=True)
class SynthConfig:
    cues: dict[str, EmotionCues]
    scenarios: dict[str, list[str]]
    fps: float = 20.0
    duration_s: tuple[float, float] = (3.0, 6.0)
    variations_per_family_emotion: int = 8
    jitter: Jitter = field(default_factory=Jitter)
    plant_tolerance_m: float | None = None  # feet within this of the floor do not slide (rig.plant_feet); None: off
    swing_clearance_m: float | None = None  # gaits place their feet (footwork.place_feet), the swing foot this high
    leg_smoothing_s: float | None = None  # Gaussian width over the joints that carry the body (rig.AngleRig.build)
    level_reach_m: float | None = None  # feet this close to the floor are turned flat at the ankle (rig.level_soles)
    balance_margin_m: float | None = None  # standing families lean until their ZMP is this far inside the feet (balance.py)

    def __post_init__(self) -> None:
        lo, hi = self.duration_s
        if not 0 < lo <= hi:
            raise ValueError(f"duration_s must be 0 < min <= max, got {self.duration_s}")
        if self.fps <= 0 or self.variations_per_family_emotion < 1:
            raise ValueError("fps must be positive and variations_per_family_emotion >= 1")
        for name in ("plant_tolerance_m", "swing_clearance_m", "leg_smoothing_s", "level_reach_m", "balance_margin_m"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive (or null: off), got {value}")


def load_synth_config(path: str | Path | None = None) -> SynthConfig:
    return load_config(path or config_dir() / "synth.yaml", SynthConfig)
