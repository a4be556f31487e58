"""Constrained, batched generation of motion tokens: the NumPy decoder compiled on CPU float32 (``decode_jit.py``,
the default; Numba), the NumPy decoder alone (``decode_numpy.py``), the torch static-cache decoder (``decode.py``:
CUDA, other dtypes, what NumPy cannot run) or Hugging Face ``generate`` with a logits processor (``decoder="hf"``,
the reference the others are tested against)."""
from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from policies.backbone.loader import Backbone, format_prompt

log = logging.getLogger(__name__)
Decoder = Literal["jit", "numpy", "static", "hf"]
DECODERS = ("jit", "numpy", "static", "hf")
NUMPY_DECODERS = ("jit", "numpy")  # they read ES-MoE's mixed experts as low-rank factors: never a fold


def motion_logits_processor(backbone: Backbone, prompt_len: int, min_tokens: int, max_tokens: int):
    """Only motion tokens may follow the prompt; the end marker only from ``min_tokens`` on, and it is
    forced at ``max_tokens``."""
    import torch
    from transformers import LogitsProcessor

    v = backbone.vocab

    class MotionOnly(LogitsProcessor):
        def __call__(self, input_ids, scores):
            n = input_ids.shape[1] - prompt_len
            mask = torch.full_like(scores, float("-inf"))
            if n >= max_tokens:
                mask[:, v.end_id] = 0.0
            else:
                mask[:, v.first_id:v.first_id + v.codebook_size] = 0.0
                if n >= min_tokens:
                    mask[:, v.end_id] = 0.0
            return scores + mask

    return MotionOnly()


@dataclass
class Generation:
    codes: np.ndarray | None  # None when no valid motion came out
    attempts: int
    failure: str | None = None


def generate_codes(backbone: Backbone, texts: list[str], length: int | list[int] | None = None,
                   min_tokens: int = 4, max_tokens: int = 50, greedy: bool = True, temperature: float = 1.0,
                   top_k: int = 0, seed: int = 0, retries: int = 2,
                   condition: Callable[[list[int]], AbstractContextManager] | None = None,
                   decoder: Decoder = "jit", cuda_graphs: bool = False) -> list[Generation]:
    """Motion codes per text. ``length`` (tokens; 4 frames each) fixes the length exactly; an empty
    result is retried with sampling (``retries`` times, seeded) and then reported as a failure.
    ``condition(rows)`` wraps each decoding call on ``texts[rows]`` (e.g. sets per-sequence expert weights).
    ``decoder``: ``jit`` (CPU float32 with Numba; else numpy), ``numpy`` (CPU float32; else static), ``static`` (falls back to ``hf`` for a model it does not
    know) or ``hf``;
    ``cuda_graphs``: on CUDA, the static decoder replays its greedy steps from a captured graph."""
    import torch

    if decoder not in DECODERS:
        raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")

    lengths = [length] * len(texts) if not isinstance(length, list) else length
    out: list[Generation | None] = [None] * len(texts)
    groups: dict[int | None, list[int]] = {}
    for i, L in enumerate(lengths):
        groups.setdefault(L, []).append(i)
    tok, model = backbone.tokenizer, backbone.model
    tok.padding_side = "left"
    if model.training:  # eval() walks every module: skip it when already in eval mode
        model.eval()
    for L, idx in groups.items():
        lo, hi = (L, L) if L is not None else (min_tokens, max_tokens)
        todo = list(idx)
        for attempt in range(retries + 1):
            if not todo:
                break
            prompts = [format_prompt(backbone, texts[i]) for i in todo]
            batch = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            sample = (not greedy) or attempt > 0
            if model.device.type == "cpu":  # the CPU generator is the one the draws use; torch.manual_seed
                torch.default_generator.manual_seed(seed + attempt)  # also walks the accelerators: 0.2 ms a call
            else:
                torch.manual_seed(seed + attempt)
            with torch.inference_mode(), (condition(todo) if condition else nullcontext()):
                answers = decode_answers(backbone, batch["input_ids"], batch["attention_mask"], lo, hi, sample,
                                         temperature, top_k, decoder, cuda_graphs)
            still = []
            for row, i in zip(answers.tolist(), todo):
                try:
                    codes = backbone.vocab.ids_to_codes(row + [backbone.vocab.end_id])
                except ValueError as exc:
                    out[i] = Generation(None, attempt + 1, str(exc))
                    continue
                if len(codes) == 0:
                    still.append(i)
                    out[i] = Generation(None, attempt + 1, "no motion tokens generated")
                else:
                    out[i] = Generation(codes, attempt + 1)
            todo = still
    return out  # type: ignore[return-value]


def decode_answers(backbone: Backbone, input_ids, attention_mask, min_tokens: int, max_tokens: int, sample: bool,
                   temperature: float = 1.0, top_k: int = 0, decoder: Decoder = "jit", cuda_graphs: bool = False):
    """(B, n) answer token ids after left-padded prompts (``pad`` after a row's end marker), n <= max_tokens + 1.
    Runs inside the caller's conditioning context, which the static decoder reads when it starts."""
    from policies.backbone.decode import StaticDecoder, static_unsupported

    model, tok, v = backbone.model, backbone.tokenizer, backbone.vocab
    if decoder in ("jit", "numpy", "static"):
        why = static_unsupported(model)
        if why is None:
            dec = StaticDecoder(model, v.first_id, v.codebook_size, v.end_id)
            if decoder in NUMPY_DECODERS and not cuda_graphs:
                answers = _numpy_answers(dec, input_ids, attention_mask, min_tokens, max_tokens, tok.pad_token_id,
                                         sample, temperature, top_k, compiled=decoder == "jit")
                if answers is not None:
                    return answers
            return dec.generate(input_ids, attention_mask, min_tokens, max_tokens, tok.pad_token_id, sample,
                                temperature, top_k, graphs=cuda_graphs)
        log.debug("static decoder not used: %s; Hugging Face generate instead", why)
    plen = input_ids.shape[1]
    seqs = model.generate(input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=max_tokens + 1,
                          do_sample=sample, temperature=temperature if sample else None,
                          top_k=top_k if sample and top_k else None, top_p=None,
                          logits_processor=[motion_logits_processor(backbone, plen, min_tokens, max_tokens)],
                          eos_token_id=v.end_id, pad_token_id=tok.pad_token_id, use_cache=True)
    return seqs[:, plen:]


def _numpy_answers(dec, input_ids, attention_mask, min_tokens: int, max_tokens: int, pad_id: int, sample: bool,
                   temperature: float, top_k: int, compiled: bool = False):
    """The answers from the NumPy decoder (``compiled``: with the compiled answer step where it can run), or None
    (debug-logged) when it cannot run this model or context. NumPy's BLAS gets as many threads as torch has (one
    per worker when several run)."""
    from policies.backbone.decode_numpy import NumpyDecoder, NumpyUnsupported, blas_threads_as_torch

    try:
        if compiled:
            from policies.backbone.decode_jit import JitDecoder, JitUnsupported

            try:
                np_dec = JitDecoder(dec, len(input_ids))
            except JitUnsupported as exc:  # only the compiled part refused: NumPy serves
                log.debug("compiled decoder not used: %s; the NumPy decoder instead", exc)
                np_dec = NumpyDecoder(dec, len(input_ids))
        else:
            np_dec = NumpyDecoder(dec, len(input_ids))
    except NumpyUnsupported as exc:
        log.debug("NumPy decoder not used: %s; the torch static decoder instead", exc)
        return None
    with blas_threads_as_torch():
        return np_dec.generate(input_ids, attention_mask, min_tokens, max_tokens, pad_id, sample, temperature, top_k)
