"""A small convolutional motion encoder over normalised 263-d features, shared by the evaluator and
the motion-emotion classifier (separate weights)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from envs.motion.features import FEATURE_DIM


class ConvMotionEncoder(nn.Module):
    """(B, T, 263) + mask (B, T) -> (B, out_dim): strided 1-D convs, then masked mean and max pooling."""

    def __init__(self, width: int = 256, out_dim: int = 256, layers: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv1d(FEATURE_DIM, width, 3, padding=1), nn.LeakyReLU(0.2)]
        for _ in range(layers - 1):
            blocks += [nn.Conv1d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
        self.convs = nn.Sequential(*blocks)
        self.stride = 2 ** (layers - 1)
        self.head = nn.Sequential(nn.Linear(2 * width, width), nn.LeakyReLU(0.2), nn.Linear(width, out_dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.convs(x.transpose(1, 2))  # (B, W, T')
        m = mask[:, :: self.stride][:, : h.shape[-1]].unsqueeze(1).float()
        if m.shape[-1] < h.shape[-1]:
            m = nn.functional.pad(m, (0, h.shape[-1] - m.shape[-1]))
        mean = (h * m).sum(-1) / m.sum(-1).clamp(min=1.0)
        peak = h.masked_fill(m == 0, -1e4).amax(-1)
        return self.head(torch.cat([mean, peak], dim=-1))


def pad_batch(features: list[np.ndarray], max_len: int, rng: np.random.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack variable-length (T, 263) arrays into (B, L, 263) + mask; longer ones are cropped
    (randomly with ``rng``, else centred)."""
    length = min(max_len, max(len(f) for f in features))
    x = np.zeros((len(features), length, FEATURE_DIM), np.float32)
    mask = np.zeros((len(features), length), bool)
    for i, f in enumerate(features):
        if len(f) > length:
            start = int(rng.integers(0, len(f) - length + 1)) if rng is not None else (len(f) - length) // 2
            f = f[start:start + length]
        x[i, : len(f)] = f
        mask[i, : len(f)] = True
    return torch.from_numpy(x), torch.from_numpy(mask)
