"""The text-motion retrieval evaluator: projections of frozen MiniLM text embeddings and of motions
into one space, trained contrastively (the role T2M's evaluator plays for HumanML3D)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from policies.motion_encoder import ConvMotionEncoder
from policies.text_encoder import EMBED_DIM
from policies.training import TrainConfig


@dataclass(frozen=True)
class EvaluatorTrainConfig(TrainConfig):
    weight_decay: float = 1e-4


@dataclass(frozen=True)
class EvaluatorConfig:
    embed_dim: int = 256
    motion_width: int = 256
    motion_layers: int = 3
    text_hidden: int = 512
    temperature: float = 0.07
    max_frames: int = 96
    train: EvaluatorTrainConfig = field(default_factory=EvaluatorTrainConfig)


class RetrievalModel(nn.Module):
    def __init__(self, cfg: EvaluatorConfig) -> None:
        super().__init__()
        self.motion = ConvMotionEncoder(cfg.motion_width, cfg.embed_dim, cfg.motion_layers)
        self.text = nn.Sequential(nn.Linear(EMBED_DIM, cfg.text_hidden), nn.LeakyReLU(0.2), nn.Linear(cfg.text_hidden, cfg.embed_dim))

    def embed_motion(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.motion(x, mask), dim=-1)

    def embed_text(self, minilm: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.text(minilm), dim=-1)
