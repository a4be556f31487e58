"""The 1-D convolutional VQ-VAE over 263-d motion features (T2M-GPT's architecture)."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from envs.motion.features import FEATURE_DIM
from policies.tokenizer.quantizer import EMAQuantizer
from policies.training import TrainConfig


@dataclass(frozen=True)
class TokenizerTrainConfig(TrainConfig):
    iterations: int = 6000
    lr: float = 2e-4
    eval_every: int = 1000
    crop: int = 64
    warmup: int = 500


@dataclass(frozen=True)
class TokenizerConfig:
    codebook_size: int = 512
    code_dim: int = 256
    width: int = 256
    depth: int = 2
    dilation_growth: int = 3
    down_t: int = 2
    ema_decay: float = 0.99
    commitment: float = 0.02
    velocity_weight: float = 0.5
    foot_contact_weight: float = 0.0  # the decoded feet held to the clip's where it stands (foot_contact.py; 0: off)
    fk_pose_weight: float = 0.0  # ... plus, inside that term, the pose the decoded rotations make (root-relative, m)
    train: TokenizerTrainConfig = field(default_factory=TokenizerTrainConfig)

    def __post_init__(self) -> None:
        if self.foot_contact_weight < 0 or self.fk_pose_weight < 0:
            raise ValueError("tokenizer.foot_contact_weight and fk_pose_weight must be >= 0, got "
                             f"{self.foot_contact_weight} and {self.fk_pose_weight}")
        if self.fk_pose_weight > 0 and self.foot_contact_weight == 0:
            raise ValueError("tokenizer.fk_pose_weight acts inside the foot-contact term: set foot_contact_weight > 0 too")

    @property
    def downsample(self) -> int:
        return 2**self.down_t


class ResBlock1D(nn.Module):
    def __init__(self, width: int, dilation: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.ReLU(), nn.Conv1d(width, width, 3, padding=dilation, dilation=dilation),
                                 nn.ReLU(), nn.Conv1d(width, width, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x)


def _resnet(width: int, depth: int, growth: int, reverse: bool = False) -> nn.Sequential:
    dilations = [growth**i for i in range(depth)]
    return nn.Sequential(*[ResBlock1D(width, d) for d in (dilations[::-1] if reverse else dilations)])


class MotionVQVAE(nn.Module):
    def __init__(self, cfg: TokenizerConfig, in_dim: int = FEATURE_DIM) -> None:
        super().__init__()
        w = cfg.width
        enc: list[nn.Module] = [nn.Conv1d(in_dim, w, 3, padding=1), nn.ReLU()]
        for _ in range(cfg.down_t):
            enc += [nn.Conv1d(w, w, 4, stride=2, padding=1), _resnet(w, cfg.depth, cfg.dilation_growth)]
        enc.append(nn.Conv1d(w, cfg.code_dim, 3, padding=1))
        dec: list[nn.Module] = [nn.Conv1d(cfg.code_dim, w, 3, padding=1), nn.ReLU()]
        for _ in range(cfg.down_t):
            dec += [_resnet(w, cfg.depth, cfg.dilation_growth, reverse=True), nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv1d(w, w, 3, padding=1)]
        dec += [nn.Conv1d(w, w, 3, padding=1), nn.ReLU(), nn.Conv1d(w, in_dim, 3, padding=1)]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)
        self.quantizer = EMAQuantizer(cfg.codebook_size, cfg.code_dim, cfg.ema_decay)

    def forward(self, x: torch.Tensor):
        """x (B, T, 263) normalised -> (reconstruction, code ids, commitment loss, perplexity)."""
        z = self.encoder(x.transpose(1, 2))
        q, idx, commit, perplexity = self.quantizer(z)
        return self.decoder(q).transpose(1, 2), idx, commit, perplexity

    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, 263) -> code ids (B, T / 4)."""
        z = self.encoder(x.transpose(1, 2))
        b, d, t = z.shape
        return self.quantizer.nearest(z.permute(0, 2, 1).reshape(-1, d)).view(b, t)

    @torch.no_grad()
    def decode(self, idx: torch.Tensor) -> torch.Tensor:
        """code ids (B, N) -> normalised features (B, 4N, 263)."""
        return self.decoder(self.quantizer.lookup(idx).transpose(1, 2)).transpose(1, 2)
