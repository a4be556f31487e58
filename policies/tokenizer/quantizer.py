"""EMA vector quantiser with dead-code reset (van den Oord 2017; Razavi 2019; T2M-GPT's QuantizeEMAReset)."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class EMAQuantizer(nn.Module):
    """Nearest-code quantisation; codes follow an EMA of their assigned vectors, unused codes are
    re-seeded from the current batch. Statistics live in buffers so checkpoints carry them."""

    def __init__(self, num_codes: int, dim: int, decay: float = 0.99) -> None:
        super().__init__()
        self.num_codes, self.dim, self.decay = num_codes, dim, decay
        self.register_buffer("codebook", torch.zeros(num_codes, dim))
        self.register_buffer("code_sum", torch.zeros(num_codes, dim))
        self.register_buffer("code_count", torch.zeros(num_codes))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def _tile(self, x: torch.Tensor) -> torch.Tensor:
        """At least ``num_codes`` rows drawn from ``x`` (repeated with jitter when the batch is small)."""
        if len(x) < self.num_codes:
            reps = (self.num_codes + len(x) - 1) // len(x)
            x = x.repeat(reps, 1)
            x = x + torch.randn_like(x) * (0.01 / self.dim**0.5)
        return x[torch.randperm(len(x), device=x.device)[: self.num_codes]]

    @torch.no_grad()
    def _update(self, x: torch.Tensor, idx: torch.Tensor) -> None:
        onehot = F.one_hot(idx, self.num_codes).type(x.dtype)  # (N, K)
        count = onehot.sum(0)
        total = onehot.t() @ x
        self.code_sum.mul_(self.decay).add_(total, alpha=1 - self.decay)
        self.code_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        used = (self.code_count >= 1.0).unsqueeze(1).type(x.dtype)
        updated = self.code_sum / self.code_count.clamp(min=1e-6).unsqueeze(1)
        self.codebook.copy_(used * updated + (1 - used) * self._tile(x))

    def nearest(self, x: torch.Tensor) -> torch.Tensor:
        """Code index of each row of ``x`` (N, D)."""
        dist = (x.pow(2).sum(1, keepdim=True) - 2 * x @ self.codebook.t() + self.codebook.pow(2).sum(1)[None])
        return dist.argmin(1)

    def lookup(self, idx: torch.Tensor) -> torch.Tensor:
        return F.embedding(idx, self.codebook)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """z (B, D, T) -> (quantised z with straight-through gradient, code ids (B, T), commitment loss, perplexity)."""
        b, d, t = z.shape
        x = z.permute(0, 2, 1).reshape(-1, d)
        if self.training and not bool(self.initialised):
            with torch.no_grad():
                self.codebook.copy_(self._tile(x))
                self.code_sum.copy_(self.codebook)
                self.code_count.fill_(1.0)
                self.initialised.fill_(True)
        idx = self.nearest(x)
        q = self.lookup(idx)
        if self.training:
            self._update(x.detach(), idx)
        commit = F.mse_loss(x, q.detach())
        q = x + (q - x).detach()
        prob = torch.bincount(idx, minlength=self.num_codes).float() / len(idx)
        perplexity = torch.exp(-(prob * (prob + 1e-10).log()).sum())
        return q.view(b, t, d).permute(0, 2, 1), idx.view(b, t), commit, perplexity
