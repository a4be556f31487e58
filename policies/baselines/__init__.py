"""Lifelong baselines on the same learner interface as ES-MoE: MTL, SeqLoRA, LwF-LoRA, O-LoRA
(``methods``), EPI (``epi``), SAPT (``sapt``) and Prog-Prompt (``progprompt``)."""
from policies.baselines.epi import EPI
from policies.baselines.methods import BASELINES as _CORE
from policies.baselines.methods import MTL, LwFLoRA, OLoRA, SeqLoRA
from policies.baselines.progprompt import ProgPrompt
from policies.baselines.sapt import SAPT

BASELINES = {**_CORE, **{cls.name: cls for cls in (EPI, SAPT, ProgPrompt)}}

__all__ = ["BASELINES", "EPI", "MTL", "LwFLoRA", "OLoRA", "ProgPrompt", "SAPT", "SeqLoRA"]
