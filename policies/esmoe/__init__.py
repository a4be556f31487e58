"""ES-MoE: CGED emotion decoupling + SAMoE scenario experts (peft LoRA) on a causal-LM backbone."""
from policies.esmoe.config import ESMoEConfig, load_esmoe_config
from policies.esmoe.learner import ContinualLearner
from policies.esmoe.model import ESMoE, make_ablation

__all__ = ["ContinualLearner", "ESMoE", "ESMoEConfig", "load_esmoe_config", "make_ablation"]
