"""CGED: causal-guided emotion decoupling (front-door adjustment, DESIGN §5).

X are the description's token embeddings. Self-sampling attends within X (queries from f(X), keys and
values from X); cross-sampling attends from g(X) to a global dictionary compressed from the training
set by K-means (an estimate of the confounder's distribution); the two are fused into h, which an
emotion head classifies (L_emo).
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def kmeans(x: torch.Tensor, k: int, iterations: int = 25, seed: int = 0) -> torch.Tensor:
    """Lloyd's algorithm with k-means++ seeding; (N, d) -> (k, d) centroids."""
    if len(x) < k:
        raise ValueError(f"K-means needs at least {k} vectors, got {len(x)}")
    g = torch.Generator().manual_seed(seed)
    centroids = x[torch.randint(len(x), (1,), generator=g)]
    for _ in range(1, k):
        d2 = torch.cdist(x, centroids).min(1).values ** 2
        p = (d2 / d2.sum()).cpu()  # drawn with the CPU generator whatever x's device (one random stream)
        # all points already covered (duplicates): any point will do, the centroid just repeats
        pick = torch.multinomial(p, 1, generator=g) if d2.sum() > 0 else torch.randint(len(x), (1,), generator=g)
        centroids = torch.cat([centroids, x[pick]])
    for _ in range(iterations):
        assign = torch.cdist(x, centroids).argmin(1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                centroids[j] = members.mean(0)
    return centroids


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp(min=1.0)


class CGED(nn.Module):
    def __init__(self, d_in: int, dim: int, dictionary_size: int, num_emotions: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.dim = dim
        self.f, self.k, self.v = nn.Linear(d_in, dim), nn.Linear(d_in, dim), nn.Linear(d_in, dim)
        self.g, self.k_g, self.v_g = nn.Linear(d_in, dim), nn.Linear(d_in, dim), nn.Linear(d_in, dim)
        self.register_buffer("dictionary", torch.zeros(dictionary_size, d_in))
        self.register_buffer("dictionary_ready", torch.zeros((), dtype=torch.bool))
        ffn = lambda: nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim, dim))  # noqa: E731
        self.ffn1, self.ffn2 = ffn(), ffn()
        self.fuse = nn.Linear(2 * dim, dim)
        self.emotion_head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, num_emotions))

    def fit_dictionary(self, token_embeddings: torch.Tensor, iterations: int = 25, seed: int = 0) -> None:
        with torch.no_grad():
            self.dictionary.copy_(kmeans(token_embeddings.float(), len(self.dictionary), iterations, seed))
            self.dictionary_ready.fill_(True)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, L, d_in) description embeddings with a (B, L) mask -> h (B, dim)."""
        if not bool(self.dictionary_ready):
            raise RuntimeError("CGED: the global dictionary is not fitted (call fit_dictionary on training texts)")
        scale = 1.0 / math.sqrt(self.dim)
        pad = ~mask.bool()
        att = (self.f(x) @ self.k(x).transpose(1, 2)) * scale
        att = att.masked_fill(pad[:, None, :], float("-inf")).softmax(-1)
        s_x = masked_mean(att @ self.v(x), mask)
        d = self.dictionary.to(x.dtype)
        att_g = ((self.g(x) @ self.k_g(d).T) * scale).softmax(-1)
        s_m = masked_mean(att_g @ self.v_g(d), mask)
        return self.fuse(torch.cat([self.ffn1(s_x), self.ffn2(s_m)], -1))

    def emotion_loss(self, h: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Cross-entropy on the samples that carry an emotion label (others are -100)."""
        if (labels >= 0).sum() == 0:
            return h.sum() * 0.0
        return F.cross_entropy(self.emotion_head(h), labels, ignore_index=-100)
