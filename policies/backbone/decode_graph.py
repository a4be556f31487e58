"""Greedy decoding steps replayed from a CUDA graph (``decode.cuda_graphs: true``; issue 24).

On a GPU the tiny backbone's step is a few hundred kernel launches of microseconds each: launch-bound.
A step whose every input lives in a fixed device buffer (the token fed, the step index, the RoPE rows,
the cache slot, the padding mask) and whose every decision is a device op (the motion-token rule, the
argmax, the end-of-row bookkeeping) is captured once per call and replayed once per token, with one host
synchronisation every ``CHECK_EVERY`` tokens to stop when all rows have ended.

Captured per call, not cached: the forwards read per-call tensors (ES-MoE's expert weights and h for the
CGED injection, merged base weights), whose addresses a cached graph would keep.

Not bit-exact with the eager static loop: a fixed-shape step attends over every cache slot under a mask
(future slots masked) where the eager loop and transformers attend over the filled slots only, so the
softmax sums run over other lengths. ``benchmarks/decode_gpu.py`` measures speed and token agreement;
``fixed_shape_loop`` runs the same step without capture (any device), which is what the CPU tests check.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

CHECK_EVERY = 8  # replays between host checks for "every row has ended"


@dataclass
class _Buffers:
    ids: torch.Tensor  # (B, 1) token fed at this step
    t: torch.Tensor  # (1,) step index of that token
    out: torch.Tensor  # (B, T) answer ids
    unfinished: torch.Tensor  # (B,) long
    keep: torch.Tensor  # (B, 1, 1, P + T) attendable cache slots


def _setup(dec, st, chooser, pad_id: int) -> tuple[_Buffers, dict]:
    """Token 0 chosen from the prompt pass, and the device tables the step reads."""
    B, T = st.cos.shape[:2]
    P = st.prompt_mask.shape[1]
    dev = st.h.device
    first = chooser(st.h, 0)
    out = torch.full((B, T), pad_id, dtype=torch.long, device=dev)
    out[:, 0] = first
    end_id = int(dec.ids[dec.end_col])
    keep = torch.zeros(B, 1, 1, P + T, dtype=torch.bool, device=dev)
    keep[:, 0, 0, :P] = st.prompt_mask
    bufs = _Buffers(first[:, None].clone(), torch.zeros(1, dtype=torch.long, device=dev), out,
                    (first != end_id).long(), keep)
    # the motion-token rule per step as additive rows (T, n): step t + 1 picks with row t + 1
    rows = torch.stack([chooser.masks[chooser.kind(t)] for t in range(T)])
    tables = {"rows": rows, "P": P, "end_id": end_id, "pad_id": pad_id}
    return bufs, tables


def _step(dec, st, chooser, b: _Buffers, tab: dict) -> None:
    """Feed token ``t``, choose token ``t + 1``: every read and write through device buffers."""
    t = b.t
    slot = t + tab["P"]
    b.keep.index_fill_(3, slot, True)
    cos, sin = st.cos.index_select(1, t), st.sin.index_select(1, t)
    h = dec.forward(b.ids, cos, sin, st.caches, slot, b.keep)
    logits = dec.logits(h) + tab["rows"].index_select(0, t + 1)
    best = logits.argmax(-1)
    nxt = best + dec.lo if dec.contiguous else chooser.ids[best]
    nxt = nxt * b.unfinished + tab["pad_id"] * (1 - b.unfinished)
    b.out.index_copy_(1, t + 1, nxt[:, None])
    b.unfinished.mul_((nxt != tab["end_id"]).long())
    b.ids.copy_(nxt[:, None])
    b.t.add_(1)


def _trim(out: torch.Tensor, end_id: int) -> torch.Tensor:
    """Drop the columns after the step where every row had ended (generate stops there)."""
    ended = out == end_id
    if not bool(ended.any(1).all()):
        return out
    return out[:, :int(ended.int().argmax(1).max()) + 1]  # argmax: a row's first end


def fixed_shape_loop(dec, st, chooser, pad_id: int) -> torch.Tensor:
    """The graph's step run eagerly, on any device (what the CPU tests check)."""
    b, tab = _setup(dec, st, chooser, pad_id)
    T = b.out.shape[1]
    for i in range(T - 1):
        if i % CHECK_EVERY == 0 and not bool(b.unfinished.any()):
            break
        _step(dec, st, chooser, b, tab)
    return _trim(b.out, tab["end_id"])


def graph_loop(dec, st, chooser, pad_id: int) -> torch.Tensor:
    """Capture one step (after a warm-up on a side stream, whose effects are undone) and replay it."""
    b, tab = _setup(dec, st, chooser, pad_id)
    T = b.out.shape[1]
    if T == 1:
        return b.out
    saved = (b.ids.clone(), b.unfinished.clone(), b.keep.clone())
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # cuBLAS handles, workspaces: allocated outside the capture
        _step(dec, st, chooser, b, tab)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        _step(dec, st, chooser, b, tab)
    # capture runs nothing; the warm-up ran step 0: restore its inputs (it rewrites the same cache slot)
    b.t.zero_()
    b.ids.copy_(saved[0])
    b.unfinished.copy_(saved[1])
    b.keep.copy_(saved[2])
    for i in range(T - 1):
        if i % CHECK_EVERY == 0 and i and not bool(b.unfinished.any()):
            break
        graph.replay()
    return _trim(b.out, tab["end_id"])
