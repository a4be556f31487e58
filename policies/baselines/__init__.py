"""Lifelong baselines (MTL, SeqLoRA, LwF-LoRA, O-LoRA) on the same learner interface as ES-MoE."""
from policies.baselines.methods import BASELINES, MTL, LwFLoRA, OLoRA, SeqLoRA

__all__ = ["BASELINES", "MTL", "LwFLoRA", "OLoRA", "SeqLoRA"]
