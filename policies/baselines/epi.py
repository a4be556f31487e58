"""EPI (Wang et al., ACL 2023, "Rehearsal-free Continual Language Learning via Efficient Parameter
Isolation"): one parameter-efficient module per task, trained alone on that task with the backbone frozen;
at inference the task is identified by the Mahalanobis distance of the frozen backbone's pooled
representation of the input to per-task statistics (task means, one covariance shared by the tasks), and
only that task's module is used.

Departures, each forced by the setting: the per-task module is a peft LoRA (the paper's is a prefix; every
method here adapts the same LoRA budget); generation has no classes, so each task keeps one mean (the paper
keeps one per class and takes the nearest); the representation pools the description's tokens only (the
instruction before it is the same for every request and would only dilute the mean); the paper's prefix
initialisation from earlier prefixes (its "SMD" fusion) has no LoRA counterpart and is left out.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from policies.backbone.corpus import TokenSample
from policies.esmoe.cged import masked_mean
from policies.esmoe.learner import ContinualLearner


class EPI(ContinualLearner):
    name = "EPI"

    def __init__(self, backbone, config, emotions) -> None:
        super().__init__(backbone, config, emotions)
        self.means: list[torch.Tensor] = []  # per task: mean pooled representation of its training descriptions
        self.covariances: list[torch.Tensor] = []  # per task: their covariance; the shared one is their mean
        self.precision: torch.Tensor | None = None  # inverse of the shared covariance
        self._train_texts: list[str] | None = None

    # -- the frozen backbone's representation --------------------------------------------------------
    def represent(self, texts: list[str], batch: int = 256) -> torch.Tensor:
        """(B, d): the frozen backbone's hidden state (``epi.layer``) mean-pooled over each description's
        tokens; every adapter is weighted 0, so no expert takes part."""
        tok = self.backbone.tokenizer
        out = []
        old, tok.padding_side = tok.padding_side, "right"
        try:
            for i in range(0, len(texts), batch):
                enc = tok([t.strip() for t in texts[i:i + batch]], return_tensors="pt", padding=True,
                          add_special_tokens=False).to(self.device)
                zeros = torch.zeros(len(enc["input_ids"]), len(self.bank.names), device=self.device)
                with torch.no_grad(), self.bank.mixing(zeros if self.bank.names else None):
                    hs = self.bank.model(**enc, output_hidden_states=True).hidden_states[self.config.epi.layer]
                out.append(masked_mean(hs.float(), enc["attention_mask"]))
        finally:
            tok.padding_side = old
        return torch.cat(out)

    def distances(self, texts: list[str]) -> torch.Tensor:
        """(B, tasks): squared Mahalanobis distance to each task's mean under the shared covariance."""
        x = self.represent(texts)
        diff = x[:, None, :] - torch.stack(self.means)[None]  # (B, T, d)
        return torch.einsum("btd,de,bte->bt", diff, self.precision, diff)

    def route(self, texts: list[str]) -> list[str]:
        """The task (expert) EPI identifies for each description."""
        return [self.bank.names[i] for i in self.distances(texts).argmin(1).tolist()]

    # -- training ------------------------------------------------------------------------------------
    def begin_scenario(self, scenario: str, train: list[TokenSample]) -> None:
        super().begin_scenario(scenario, train)
        self.bank.add(scenario)  # the only trainable adapter; older ones are frozen
        self._train_texts = [t for s in train for t in s.texts]

    def _only(self, n: int, j: int) -> torch.Tensor:
        w = torch.zeros(n, len(self.bank.names), device=self.device)
        w[:, j] = 1.0
        return w

    def loss(self, texts, codes, emotions):
        # the new adapter alone: older ones are out of the forward pass (weight 0), as EPI trains each module alone
        loss = self.lm_loss(texts, codes, self._only(len(texts), len(self.bank.names) - 1))
        return loss, {"llm": loss.item()}

    def end_scenario(self) -> None:
        """The task's statistics from its training descriptions; the shared covariance is the mean of the
        tasks' covariances (EPI's accumulated covariance / number of tasks), inverted once."""
        x = self.represent(self._train_texts).double()
        self.means.append(x.mean(0).float())
        self.covariances.append(torch.cov(x.T))
        shared = torch.stack(self.covariances).mean(0)
        s = self.config.epi.shrinkage
        if s > 0:
            shared = (1 - s) * shared + s * shared.diagonal().mean() * torch.eye(len(shared), dtype=shared.dtype, device=shared.device)
        self.precision = torch.linalg.pinv(shared, hermitian=True).float()
        self._train_texts = None

    # -- inference -----------------------------------------------------------------------------------
    @contextmanager
    def condition(self, texts: list[str]):
        """Each description served by the adapter of the task it is identified with."""
        idx = self.distances(texts).argmin(1)
        w = torch.nn.functional.one_hot(idx, len(self.bank.names)).float()
        if bool((idx == idx[0]).all()):
            with self.bank.merged(w[0]):  # one expert for the whole batch: fold it into the weights
                yield
        else:
            with self.bank.mixing(w):
                yield
