"""The clock of a procedural clip: tempo, amplitude, sharpness and hesitation applied to periodic signals."""
from __future__ import annotations

import numpy as np

from envs.synth.cues import EmotionCues


class Drive:
    """The clock of one clip: tempo, amplitude, sharpness and hesitation applied to periodic signals."""

    def __init__(self, t: np.ndarray, cue: EmotionCues, rng: np.random.Generator, tempo: float, amp: float) -> None:
        self.t, self.cue, self.rng = t, cue, rng
        self.tempo, self.amp = tempo, amp
        dt = t[1] - t[0] if len(t) > 1 else 0.05
        # Hesitation slows the clock in irregular stretches (stop-and-go), keeping it monotone.
        stall = 1.0 - 0.85 * cue.hesitation * np.clip(np.sin(2 * np.pi * 0.45 * t + rng.uniform(0, 6.28)), 0, None) ** 2
        self.clock = np.concatenate([[0.0], np.cumsum(stall[:-1] * dt)])
        self.start = rng.uniform(0, 2 * np.pi)

    def phase(self, freq: float) -> np.ndarray:
        return 2 * np.pi * freq * self.tempo * self.clock + self.start

    def wave(self, freq: float, offset: float = 0.0) -> np.ndarray:
        """A sinusoid in [-1, 1]; sharpness squares it off, raising acceleration and jerk."""
        s = np.sin(self.phase(freq) + offset)
        k = 1.0 - 0.8 * self.cue.sharpness
        return np.sign(s) * np.abs(s) ** k

    def smooth(self, freq: float, offset: float = 0.0) -> np.ndarray:
        """An unsharpened sinusoid, for whole-body displacements (the body's mass cannot snap)."""
        return np.sin(self.phase(freq) + offset)

    def pulse(self, freq: float, offset: float = 0.0) -> np.ndarray:
        """A one-sided bump in [0, 1] (strikes, steps)."""
        return np.clip(self.wave(freq, offset), 0, None)

    def ramp(self, seconds: float) -> np.ndarray:
        """0 -> 1 over ``seconds`` (scaled by tempo), smooth, then held."""
        x = np.clip(self.clock * self.tempo / max(seconds, 1e-3), 0, 1)
        return x * x * (3 - 2 * x)
