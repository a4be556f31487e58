"""Progressive Prompts (Razdaibiedina et al., ICLR 2023), after the authors' code
(github.com/arazd/ProgressivePrompts, T5 codebase): the backbone is frozen; each task learns a soft prompt
of ``prompt_length`` vectors (initialised from random vocabulary embeddings, reparameterised through a
residual MLP while it trains); the prompt in front of the input is the new one followed by every earlier
one, [P_t; P_{t-1}; ...; P_1], earlier prompts frozen. After a task its prompt is baked (MLP applied,
detached) and the MLP dropped.

Task identity: the reference code scores task t right after training it, with [P_t; ...; P_1], and does not
re-score it later (its "test after every task" is only for methods that forget). That is evaluation with the
task identity given: ``progprompt.task_identity: given`` serves a request of scenario j with [P_j; ...; P_1]
(the benchmark passes the scenario, and labels the row so). ``none`` serves every request with all prompts.

Departure: the soft prompt sits between the fixed instruction and the description (the prompt builder puts
the instruction first for every method); it still precedes everything that varies between requests.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

from policies.backbone.corpus import TokenSample
from policies.esmoe.learner import ContinualLearner

SOFT = "<soft_prompt>"  # placeholder token whose embeddings the hook replaces by the soft prompt


class ResidualMLP(nn.Module):
    """P + MLP(P), the paper's residual reparameterisation (bottleneck, ReLU)."""

    def __init__(self, d: int, bottleneck: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, bottleneck), nn.ReLU(), nn.Linear(bottleneck, d))

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return p + self.net(p)


class ProgPrompt(ContinualLearner):
    name = "Prog-Prompt"

    def __init__(self, backbone, config, emotions) -> None:
        super().__init__(backbone, config, emotions)
        tok, model = backbone.tokenizer, backbone.model
        if SOFT not in tok.get_vocab():
            tok.add_special_tokens({"additional_special_tokens": [SOFT]})
            model.resize_token_embeddings(len(tok))
        self.soft_id = tok.convert_tokens_to_ids(SOFT)
        for p in model.parameters():
            p.requires_grad_(False)  # the backbone stays frozen: only prompts learn
        self.dim = model.get_input_embeddings().weight.shape[1]
        self.prompts: list[torch.Tensor] = []  # finished prompts P_1..P_n, baked and frozen
        self.current: nn.Parameter | None = None
        self.mlp: ResidualMLP | None = None
        self.task: str | None = None  # the scenario a request belongs to, when the benchmark gives it
        self._gen = torch.Generator().manual_seed(config.train.seed)
        model.get_input_embeddings().register_forward_hook(self._hook)

    @property
    def uses_task_identity(self) -> bool:
        return self.config.progprompt.task_identity == "given"

    def to(self, device):
        super().to(device)
        self.prompts = [p.to(device) for p in self.prompts]
        return self

    # -- the prompt sequence -------------------------------------------------------------------------
    def sequence(self) -> torch.Tensor:
        """All prompts newest first, [P_t; ...; P_1] (the training one through its MLP), (t*m, d)."""
        parts = list(reversed(self.prompts))
        if self.current is not None:
            parts.insert(0, self.mlp(self.current) if self.mlp is not None else self.current)
        return torch.cat(parts)

    def _hook(self, module, inputs, output):
        ids = inputs[0]
        mask = ids == self.soft_id
        if not bool(mask.any()):
            return output  # a cached decoding step, or a forward without prompts
        full = self.sequence().to(output.dtype)
        # a row with c placeholders takes the last c rows of [P_t;...;P_1], i.e. [P_k;...;P_1] for k = c/m
        idx = (len(full) - mask.sum(1, keepdim=True)) + mask.long().cumsum(1) - 1
        picked = full[idx.clamp(0, len(full) - 1)]
        return torch.where(mask.unsqueeze(-1), picked, output)

    def prompts_for(self, scenario: str | None) -> int:
        """How many prompts a request is served with: its own scenario's and the earlier ones (task identity
        given), else all."""
        n = len(self.prompts) + (self.current is not None)
        if scenario is not None and self.uses_task_identity and scenario in self.scenarios:
            return min(self.scenarios.index(scenario) + 1, n)
        return n

    def _prefixed(self, texts: list[str], k: int) -> list[str]:
        soft = " ".join([SOFT] * (k * self.config.progprompt.prompt_length))
        return [f"{soft} {t.strip()}" for t in texts]

    # -- training ------------------------------------------------------------------------------------
    def begin_scenario(self, scenario: str, train: list[TokenSample]) -> None:
        super().begin_scenario(scenario, train)
        s = self.config.progprompt
        emb = self.backbone.model.get_input_embeddings().weight
        rows = torch.randint(0, len(emb), (s.prompt_length,), generator=self._gen)  # init from random vocabulary tokens
        self.current = nn.Parameter(emb[rows.to(emb.device)].detach().clone())
        self.mlp = ResidualMLP(self.dim, s.mlp_bottleneck).to(emb.device) if s.mlp_bottleneck > 0 else None

    def loss(self, texts, codes, emotions):
        loss = self.lm_loss(self._prefixed(texts, len(self.prompts) + 1), codes)
        return loss, {"llm": loss.item()}

    def end_scenario(self) -> None:
        with torch.no_grad():
            baked = self.mlp(self.current) if self.mlp is not None else self.current
        self.prompts.append(baked.detach().clone())
        self.current, self.mlp = None, None

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [self.current] + (list(self.mlp.parameters()) if self.mlp is not None else [])

    def param_groups(self, lr: float) -> list[dict]:
        """Prompt tuning takes its own learning rate (``progprompt.lr``)."""
        return [{"params": self.trainable_parameters(), "lr": self.config.progprompt.lr}]

    # -- inference -----------------------------------------------------------------------------------
    @contextmanager
    def evaluation_context(self, scenario: str):
        old, self.task = self.task, scenario
        try:
            yield
        finally:
            self.task = old

    def prepare_texts(self, texts: list[str]) -> list[str]:
        return self._prefixed(texts, self.prompts_for(self.task))

    def generate(self, texts, *args, **kwargs):
        return super().generate(self.prepare_texts(texts), *args, **kwargs)

    def expert_parameters(self) -> int:
        return self.config.progprompt.prompt_length * self.dim
