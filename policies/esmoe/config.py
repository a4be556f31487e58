"""ES-MoE and lifelong-trainer settings, validated from ``configs/esmoe.yaml``."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from envs.config import config_dir, load_config, validate_literals


@dataclass(frozen=True)
class LoRASettings:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass(frozen=True)
class CGEDSettings:
    dim: int = 32
    dictionary_size: int = 32
    kmeans_iterations: int = 25
    dropout: float = 0.1
    trainable: Literal["first", "always"] = "first"
    # X, what CGED reads: the description's static token embeddings, or the frozen backbone's last hidden states
    # over the description alone (no expert, no injection; the paper's suggestion, one more forward a request)
    input: Literal["embeddings", "hidden"] = "embeddings"

    def __post_init__(self) -> None:
        validate_literals(self, "cged")


@dataclass(frozen=True)
class GateSettings:
    query_rank: int = 16
    key_dim: int = 32
    top_k: int = 2
    mask_rate: float = 0.3
    temperature: float = 1.0
    routing_weight: float = 1.0
    prototypes: int = 32  # K-means centroids of the gate input kept per expert; 0 keeps every training description's
    inference: Literal["learned", "prototype"] = "learned"  # learned: the gate's scores (the paper); prototype: the expert with the nearest stored centroid
    prototype_input: Literal["full", "content"] = "full"  # what prototype routing compares: full (pooled description + CGED h) or content (pooled only)

    def __post_init__(self) -> None:
        validate_literals(self, "gate")
        if self.prototypes < 0:
            raise ValueError(f"gate.prototypes must be >= 0, got {self.prototypes}")


@dataclass(frozen=True)
class LossSettings:
    lambda_emo: float = 0.1


@dataclass(frozen=True)
class LwFSettings:
    alpha: float = 1.0
    temperature: float = 2.0


@dataclass(frozen=True)
class OLoRASettings:
    lambda_orth: float = 0.5  # O-LoRA's lambda_1: weight of sum |A_new A_old^T|
    lambda_l2: float = 0.0  # O-LoRA's lambda_2: weight of the L2 norm of the new LoRA's parameters


@dataclass(frozen=True)
class EPISettings:
    """EPI (Wang et al. 2023): task identity from the frozen backbone's pooled description representation."""

    shrinkage: float = 0.1  # shared covariance -> (1-s) C + s (tr C / d) I before inverting: ~hundreds of samples in 192 dims
    layer: int = -1  # hidden state read (after the final norm for -1), mean-pooled over the description tokens


@dataclass(frozen=True)
class SAPTSettings:
    """SAPT (Zhao et al. 2024): shared attentive learning and selection + attentive reflection."""

    query_hidden: int = 100  # trans_hidden_dim of the query transform (SAPT's scripts: 100)
    kl_weight: float = 1.0  # weight of the attentive-reflection KL (SAPT's kl_ratio: 1)
    replay_per_scenario: int = 16  # descriptions kept per finished scenario for attentive reflection
    replay_batch: int = 8  # of those, drawn per old scenario per step


@dataclass(frozen=True)
class ProgPromptSettings:
    """Progressive Prompts (Razdaibiedina et al. 2023): one soft prompt per scenario, concatenated."""

    prompt_length: int = 10  # soft tokens per scenario
    mlp_bottleneck: int = 64  # residual MLP reparameterisation while a prompt trains; 0: none
    lr: float = 3.0e-2  # prompt tuning wants a larger step than LoRA
    task_identity: Literal["given", "none"] = "given"  # given: scenario j is served [P_j;...;P_1] (the paper's protocol)

    def __post_init__(self) -> None:
        validate_literals(self, "progprompt")


@dataclass(frozen=True)
class ScenarioTrainSettings:
    steps_per_scenario: int = 120
    batch: int = 32
    lr: float = 2e-3
    warmup: int = 20
    weight_decay: float = 0.0
    seed: int = 0
    # auto: bf16 autocast on CUDA, fp32 elsewhere; bf16: autocast wherever the model is (CPU too); fp32: none
    precision: Literal["auto", "bf16", "fp32"] = "auto"

    def __post_init__(self) -> None:
        validate_literals(self, "train")


@dataclass(frozen=True)
class EvalSettings:
    max_test_per_scenario: int = 0
    texts_per_window: int = 1  # descriptions generated from per test window (each window has several); 0: all
    multimodal_texts: int = 32
    multimodal_samples: int = 5
    top_k_sampling: int = 20


@dataclass(frozen=True)
class DecodeSettings:
    # numpy: policies/backbone/decode_numpy.py (CPU float32; else static); static: policies/backbone/decode.py;
    # hf: transformers' generate (the reference)
    decoder: Literal["jit", "numpy", "static", "hf"] = "jit"
    cuda_graphs: bool = False  # on CUDA, greedy steps of the static decoder replayed from a captured graph
    # a batch-shared request folds its experts into the base weights only when those weights are at most this
    # many elements: the fold keeps a copy of every targeted base weight to restore its exact bits (SmolLM2-135M:
    # 76 M elements, 305 MB a request; a 7B model ~9 GB); above it the low-rank mixed forward serves the request
    merge_max_elements: int = 4_000_000

    def __post_init__(self) -> None:
        validate_literals(self, "decode")


@dataclass(frozen=True)
class PretrainSettings:
    dataset: str = "synth-8"
    steps: int = 1000
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 100


@dataclass(frozen=True)
class ESMoEConfig:
    lora: LoRASettings = field(default_factory=LoRASettings)
    cged: CGEDSettings = field(default_factory=CGEDSettings)
    gate: GateSettings = field(default_factory=GateSettings)
    loss: LossSettings = field(default_factory=LossSettings)
    lwf: LwFSettings = field(default_factory=LwFSettings)
    olora: OLoRASettings = field(default_factory=OLoRASettings)
    epi: EPISettings = field(default_factory=EPISettings)
    sapt: SAPTSettings = field(default_factory=SAPTSettings)
    progprompt: ProgPromptSettings = field(default_factory=ProgPromptSettings)
    train: ScenarioTrainSettings = field(default_factory=ScenarioTrainSettings)
    eval: EvalSettings = field(default_factory=EvalSettings)
    pretrain: PretrainSettings = field(default_factory=PretrainSettings)
    decode: DecodeSettings = field(default_factory=DecodeSettings)


def load_esmoe_config(path: str | Path | None = None) -> ESMoEConfig:
    return load_config(path or config_dir() / "esmoe.yaml", ESMoEConfig)
