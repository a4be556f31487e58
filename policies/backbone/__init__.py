"""Causal-LM backbones with the motion vocabulary, the paper's prompt and constrained decoding."""
from policies.backbone.generate import Generation, generate_codes
from policies.backbone.loader import Backbone, format_prompt, load_backbone, load_backbone_config
from policies.backbone.vocab import BEGIN, END, MotionVocabulary

__all__ = ["BEGIN", "END", "Backbone", "Generation", "MotionVocabulary", "format_prompt", "generate_codes",
           "load_backbone", "load_backbone_config"]
