"""Training batches for text -> motion-token language modelling: prompt tokens are context only."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from policies.backbone.loader import Backbone, format_prompt

if TYPE_CHECKING:
    import torch


def lm_batch(backbone: Backbone, texts: list[str], codes: list[np.ndarray], device: torch.device | str | None = None):
    """input_ids, attention_mask and labels (-100 on the prompt and padding) for next-token loss on
    ``<motion_i>...<eom>``; right-padded, on ``device`` (default: the model's)."""
    import torch

    tok, v = backbone.tokenizer, backbone.vocab
    rows, labels = [], []
    for text, c in zip(texts, codes):
        prompt = tok(format_prompt(backbone, text), add_special_tokens=False)["input_ids"]
        answer = v.codes_to_ids(c) + [v.end_id]
        rows.append(prompt + answer)
        labels.append([-100] * len(prompt) + answer)
    width = max(len(r) for r in rows)
    pad = tok.pad_token_id
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    lab = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (r, l) in enumerate(zip(rows, labels)):
        ids[i, : len(r)] = torch.tensor(r)
        lab[i, : len(l)] = torch.tensor(l)
        mask[i, : len(r)] = 1
    # built row by row on the CPU, then moved in one copy each (no-op on a CPU model)
    device = device if device is not None else backbone.model.device
    return {"input_ids": ids.to(device), "attention_mask": mask.to(device), "labels": lab.to(device)}


def answer_loss(model, batch: dict):
    """Mean next-token cross-entropy over the labelled (answer) tokens of an ``lm_batch``, equal to the
    causal-LM loss Hugging Face computes, with the LM head run only at positions a label follows:
    the prompt is ~40 % of a batch and its logits were computed to be ignored."""
    import torch
    from torch.nn import functional as F

    labels = batch["labels"]
    target = labels[:, 1:]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[:, :-1] = target != -100
    # the positions any row needs, as a 1-D index: what every transformers 5.x takes as logits_to_keep (a
    # 2-D boolean mask only from 5.2x on)
    cols = keep.any(0).nonzero().squeeze(1)
    out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], logits_to_keep=cols)
    return F.cross_entropy(out.logits[keep[:, cols]].float(), target[target != -100])
