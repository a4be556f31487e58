"""The interface every lifelong text-to-motion method implements (ES-MoE and the baselines share one
trainer, one data path and one evaluation through it)."""
from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch

from policies.backbone import Backbone, Generation, generate_codes
from policies.backbone.batch import answer_loss, lm_batch
from policies.backbone.corpus import TokenSample
from policies.esmoe.config import ESMoEConfig
from policies.esmoe.experts import ExpertBank


class ContinualLearner:
    """A backbone with LoRA experts that learns scenarios one after another."""

    name = "base"
    joint = False  # True: trained once on all scenarios together (MTL)

    def __init__(self, backbone: Backbone, config: ESMoEConfig, emotions: list[str]) -> None:
        self.backbone = backbone
        self.config = config
        self.emotions = emotions
        self.bank = ExpertBank(backbone.model, config.lora)
        self.scenarios: list[str] = []
        # stays on the CPU on every device: random draws are made here and moved, so a CUDA run masks
        # the gate exactly as a CPU run with the same seed does
        self.generator = torch.Generator().manual_seed(config.train.seed)

    @property
    def device(self) -> torch.device:
        """Where the backbone (and so every expert) lives."""
        return next(self.bank.model.parameters()).device

    def to(self, device: torch.device | str) -> "ContinualLearner":
        """Move the backbone with its experts to ``device``; experts added later follow it (peft)."""
        self.bank.model.to(device)
        return self

    # -- training -------------------------------------------------------------------------------
    def begin_scenario(self, scenario: str, train: list[TokenSample]) -> None:
        self.scenarios.append(scenario)

    def end_scenario(self) -> None:
        pass

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.bank.model.parameters() if p.requires_grad]

    def lm_loss(self, texts: list[str], codes: list[np.ndarray], weights: torch.Tensor | None = None,
                return_logits: bool = False):
        batch = lm_batch(self.backbone, texts, codes)
        with self.bank.mixing(weights):
            if not return_logits:
                return answer_loss(self.bank.model, batch)
            out = self.bank.model(**batch)
        return out.loss, out.logits, batch["labels"]

    def loss(self, texts: list[str], codes: list[np.ndarray], emotions: list[str | None]) -> tuple[torch.Tensor, dict]:
        loss = self.lm_loss(texts, codes)
        return loss, {"llm": loss.item()}

    # -- inference ------------------------------------------------------------------------------
    def condition(self, texts: list[str]) -> AbstractContextManager:
        """What a forward on ``texts`` needs set (expert weights, injected h); nothing by default."""
        return nullcontext()

    def generate(self, texts: list[str], lengths: list[int] | int | None = None, greedy: bool = True,
                 seed: int = 0, top_k: int = 0, decoder: str | None = None) -> list[Generation]:
        """``decoder``: ``static`` or ``hf`` (default: the config's ``decode.decoder``)."""
        self.backbone.model = self.bank.model  # generate_codes puts it in eval mode
        d = self.config.decode
        return generate_codes(self.backbone, texts, length=lengths, greedy=greedy, seed=seed, top_k=top_k,
                              condition=lambda rows: self.condition([texts[i] for i in rows]),
                              decoder=decoder or d.decoder, cuda_graphs=d.cuda_graphs)

    def expert_parameters(self) -> int:
        """Parameters one scenario adds (for the <= 3 % budget)."""
        return self.bank.expert_size(self.bank.names[-1]) if self.bank.names else 0

    def emotion_targets(self, emotions: list[str | None]) -> torch.Tensor:
        return torch.tensor([self.emotions.index(e) if e in self.emotions else -100 for e in emotions], device=self.device)
