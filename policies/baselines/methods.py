"""The lifelong baselines the paper compares (DESIGN §5), all on the same peft LoRA machinery.

- MTL: one LoRA trained on all scenarios at once (the upper bound; no sequence, no forgetting).
- SeqLoRA: one LoRA fine-tuned on the scenarios in sequence.
- LwF-LoRA: SeqLoRA + distillation towards the model before the current scenario (Li & Hoiem, 2017).
- O-LoRA: a new LoRA per scenario, old ones frozen and summed, the new one's down-projection kept
  orthogonal to the old ones' (lambda_1) and its parameters small (lambda_2, an L2 norm) (Wang et al., 2023).

EPI, SAPT and Prog-Prompt live in their own modules (``epi``, ``sapt``, ``progprompt``).
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from policies.backbone.corpus import TokenSample
from policies.esmoe.learner import ContinualLearner


class SeqLoRA(ContinualLearner):
    name = "SeqLoRA"

    def begin_scenario(self, scenario: str, train: list[TokenSample]) -> None:
        super().begin_scenario(scenario, train)
        if not self.bank.names:
            self.bank.add("shared")


class MTL(SeqLoRA):
    name = "MTL"
    joint = True


class LwFLoRA(SeqLoRA):
    """Distils the previous model's motion-token distribution on the current scenario's data."""

    name = "LwF-LoRA"

    def begin_scenario(self, scenario: str, train: list[TokenSample]) -> None:
        super().begin_scenario(scenario, train)
        if len(self.scenarios) > 1:
            if "teacher" not in self.bank.names:
                self.bank.add("teacher", trainable=False)
            self.bank.copy("shared", "teacher")
            self.bank.set_trainable({"shared"})

    def _weights(self, n: int, teacher: bool) -> torch.Tensor | None:
        if "teacher" not in self.bank.names:
            return None
        w = torch.zeros(n, len(self.bank.names), device=self.device)
        w[:, self.bank.names.index("teacher" if teacher else "shared")] = 1.0
        return w

    def condition(self, texts):
        return self.bank.mixing(self._weights(len(texts), teacher=False))

    def loss(self, texts, codes, emotions):
        loss, logits, labels = self.lm_loss(texts, codes, self._weights(len(texts), False), return_logits=True)
        info = {"llm": loss.item()}
        if len(self.scenarios) > 1:
            with torch.no_grad():
                _, t_logits, _ = self.lm_loss(texts, codes, self._weights(len(texts), True), return_logits=True)
            keep = labels[:, 1:] != -100  # positions that predict an answer token
            T = self.config.lwf.temperature
            s = F.log_softmax(logits[:, :-1][keep] / T, -1)
            t = F.softmax(t_logits[:, :-1][keep] / T, -1)
            kd = F.kl_div(s, t, reduction="batchmean") * T * T
            loss = loss + self.config.lwf.alpha * kd
            info["kd"] = kd.item()
        return loss, info


class OLoRA(ContinualLearner):
    name = "O-LoRA"

    def begin_scenario(self, scenario: str, train: list[TokenSample]) -> None:
        super().begin_scenario(scenario, train)
        self.bank.add(scenario)

    def loss(self, texts, codes, emotions):
        loss = self.lm_loss(texts, codes)
        info = {"llm": loss.item()}
        if len(self.bank.names) > 1:
            new = self.bank.lora_A(self.bank.names[-1])
            orth = sum((a_new @ a_old.T).abs().sum() for old in self.bank.names[:-1]
                       for a_new, a_old in zip(new, self.bank.lora_A(old)))
            loss = loss + self.config.olora.lambda_orth * orth
            info["orth"] = orth.item()
        if self.config.olora.lambda_l2 > 0:
            # O-LoRA's reference code: the sum of the L2 norms of the new adapter's parameter tensors
            l2 = sum(p.norm(p=2) for p in self.bank.parameters_of(self.bank.names[-1]))
            loss = loss + self.config.olora.lambda_l2 * l2
            info["l2"] = l2.item()
        return loss, info


BASELINES = {cls.name: cls for cls in (MTL, SeqLoRA, LwFLoRA, OLoRA)}  # + EPI, SAPT, Prog-Prompt: policies.baselines
