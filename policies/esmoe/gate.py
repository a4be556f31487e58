"""The SAMoE gate: one weight per expert per sequence from h, softmax over query . key with
orthogonally initialised keys, top-k, and random masking of old experts while a new one trains."""
from __future__ import annotations

import torch
from torch import nn


class ExpertGate(nn.Module):
    def __init__(self, d_h: int, key_dim: int, query_rank: int, max_experts: int | None = None, seed: int = 0) -> None:
        super().__init__()
        self.max_experts = max_experts or key_dim
        if self.max_experts > key_dim:
            raise ValueError(f"at most key_dim={key_dim} orthogonal keys, asked for {self.max_experts}")
        self.query = nn.Sequential(nn.Linear(d_h, query_rank), nn.GELU(), nn.Linear(query_rank, key_dim))
        g = torch.Generator().manual_seed(seed)
        basis = torch.linalg.qr(torch.randn(key_dim, key_dim, generator=g))[0].T  # rows orthonormal
        self.register_buffer("basis", basis[: self.max_experts].clone())
        self.keys = nn.ParameterList()

    @property
    def num_experts(self) -> int:
        return len(self.keys)

    def add_key(self) -> nn.Parameter:
        """The next orthogonal key (orthogonal to all earlier ones at initialisation)."""
        i = len(self.keys)
        if i >= self.max_experts:
            raise ValueError(f"the gate holds at most {self.max_experts} experts")
        key = nn.Parameter(self.basis[i].clone())
        self.keys.append(key)
        return key

    def scores(self, h: torch.Tensor) -> torch.Tensor:
        return self.query(h) @ torch.stack(list(self.keys)).T

    def forward(self, h: torch.Tensor, top_k: int, temperature: float = 1.0, mask_rate: float = 0.0,
                protect: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, d_h) -> (B, E) weights summing to 1 over at most ``top_k`` experts. While training,
        each expert except ``protect`` (the new one) is hidden with probability ``mask_rate``."""
        s = self.scores(h) / temperature
        if mask_rate > 0 and s.shape[1] > 1:
            # drawn from the (CPU) generator and moved: the same masks for a given seed on every device
            hide = (torch.rand(s.shape, generator=generator) < mask_rate).to(s.device)
            if protect is not None:
                hide[:, protect] = False
            s = s.masked_fill(hide, float("-inf"))
        k = min(top_k, s.shape[1])
        if k < s.shape[1]:
            kth = s.topk(k, dim=1).values[:, -1:]
            s = s.masked_fill(s < kth, float("-inf"))
        return s.softmax(-1)
