"""Procedural motion source: synth-8 scenarios, all 8 emotions shown through body cues."""
from envs.synth.cues import EmotionCues, SynthConfig, load_synth_config
from envs.synth.generator import SynthClip, SynthSource

__all__ = ["EmotionCues", "SynthClip", "SynthConfig", "SynthSource", "load_synth_config"]
