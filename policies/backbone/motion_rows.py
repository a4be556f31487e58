"""The motion vocabulary's own rows in a pretrained language model.

``resize_token_embeddings`` appends rows for ``<som>``, ``<eom>`` and ``<motion_i>`` to the input embedding
and the LM head. Those rows must learn while every pretrained row stays exactly as it was: the weight
matrices get ``requires_grad`` and a gradient hook that zeroes every row but the motion rows, so an
optimizer without weight decay on them (Adam's update of a zero gradient is exactly zero) moves the motion
rows only. A tied head (SmolLM2) shares the embedding matrix, hence its rows: they are trained and saved once.

(peft's ``trainable_token_indices`` does the same with a delta table, but its forward rebuilds the whole
49k x 576 matrix per call and the rows would live in a wrapper that the static decoder and ES-MoE's
embedding hook do not read; here the rows live in the model's own weights.)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from policies.backbone.vocab import MotionVocabulary


# the warm-up output (policies/backbone/warmup.py writes it, loader.py reads it)
FORMAT = "l2emg-warmup/1"
MANIFEST = "warmup.json"
ROWS = "motion_rows.safetensors"
ADAPTER = "adapter_model.safetensors"


def motion_row_ids(vocab: MotionVocabulary) -> list[int]:
    """Token ids of the motion vocabulary: the markers, then the codes (ascending)."""
    return sorted({vocab.begin_id, vocab.end_id, *range(vocab.first_id, vocab.first_id + vocab.codebook_size)})


def row_matrices(model) -> dict[str, torch.nn.Parameter]:
    """``embed`` (input embedding weight) and, when the head is not tied to it, ``head`` (LM head weight)."""
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    out = {"embed": emb}
    if head is not None and head.weight is not emb:
        out["head"] = head.weight
    return out


def is_tied(model) -> bool:
    return "head" not in row_matrices(model)


class MotionRows:
    """Trainable motion rows of ``model`` (frozen elsewhere) until :meth:`remove`."""

    def __init__(self, model, vocab: MotionVocabulary) -> None:
        import torch

        self.model = model
        self.ids = motion_row_ids(vocab)
        self.matrices = row_matrices(model)
        self._hooks = []
        for w in self.matrices.values():
            if max(self.ids) >= w.shape[0]:
                raise ValueError(f"motion token id {max(self.ids)} beyond the {w.shape[0]} rows: resize_token_embeddings first")
            mask = torch.zeros(w.shape[0], 1, dtype=w.dtype, device=w.device)
            mask[self.ids] = 1
            w.requires_grad_(True)
            self._hooks.append(w.register_hook(lambda g, m=mask: g * m.to(g.dtype)))

    def parameters(self) -> list[torch.nn.Parameter]:
        """For an optimizer group with ``weight_decay=0`` (decoupled decay would shrink the frozen rows)."""
        return list(self.matrices.values())

    def state(self) -> dict[str, torch.Tensor]:
        """The motion rows (copies, contiguous): what is saved."""
        return {k: w.detach()[self.ids].clone().contiguous() for k, w in self.matrices.items()}

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks = []
        for w in self.matrices.values():
            w.requires_grad_(False)


def recentre_unseen(model, vocab: MotionVocabulary, seen_codes: set[int]) -> int:
    """Move the rows of motion codes that no training answer used onto the trained rows' mean, keeping each
    row's own offset from its group mean (so they stay distinct); returns how many codes moved.

    A code the warm-up never shows only receives the softmax's push-down, and Adam turns that small gradient
    into full-size steps: its logit ends far below every trained code's, and an answer of an unseen scenario
    that uses it costs ~17 nats a token (10.3 after this, bandai-4-quick val; RESULTS). Only the warm-up's own codes are used."""
    import torch

    codes = range(vocab.codebook_size)
    seen = [vocab.first_id + c for c in codes if c in seen_codes]
    unseen = [vocab.first_id + c for c in codes if c not in seen_codes]
    if not seen or not unseen:
        return 0
    with torch.no_grad():
        for w in row_matrices(model).values():
            u = w[unseen]
            w[unseen] = u - u.mean(0, keepdim=True) + w[seen].mean(0, keepdim=True)
    return len(unseen)


def put_rows(model, vocab: MotionVocabulary, rows: dict[str, torch.Tensor], source: str = "rows") -> None:
    """Write saved motion rows back into ``model`` (resized, same vocabulary); ``source`` names the file in errors."""
    import torch

    ids = motion_row_ids(vocab)
    matrices = row_matrices(model)
    if set(rows) != set(matrices):
        raise ValueError(f"{source}: rows for {sorted(rows)}, the model has {sorted(matrices)} (tied head: embed only)")
    with torch.no_grad():
        for k, w in matrices.items():
            r = rows[k]
            if tuple(r.shape) != (len(ids), w.shape[1]):
                raise ValueError(f"{source}: key {k!r} has shape {tuple(r.shape)}, expected {(len(ids), w.shape[1])}")
            w[ids] = r.to(device=w.device, dtype=w.dtype)


def read_warmup_manifest(path: str | Path) -> dict:
    """``path/warmup.json`` checked: format and the keys loading needs."""
    path = Path(path)
    try:
        manifest = json.loads((path / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path / MANIFEST}: unreadable warm-up manifest ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path / MANIFEST}: key 'format' is {manifest.get('format')!r}, expected {FORMAT!r}")
    for key in ("base", "codebook_size", "row_ids"):
        if key not in manifest:
            raise ValueError(f"{path / MANIFEST}: key {key!r} missing")
    return manifest
