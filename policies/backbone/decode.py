"""Fast constrained decoding of motion tokens (issue 24): a preallocated (static) KV cache, a lean Llama
step and only the LM-head rows a motion answer may use (the end marker and the motion tokens).

Hugging Face ``generate`` spends ~2.8 ms a token on module and bookkeeping overhead for a 1.8 M-parameter
backbone whose arithmetic is a few MFLOP per token. This loop runs the same kernels on the same operands,
or rearrangements that are exact in IEEE arithmetic (q, k and v as one product when their weights are
plain: each output row is the same dot product; rotate_half as a swap and a sign folded into sin), so on
the same device it picks the same tokens (greedy) and, when sampling, draws the same random numbers
(``tests/test_decode.py`` compares it with the HF path on many prompts):

- every projection whose forward is not a plain ``nn.Linear`` (a peft LoRA layer, ``ExpertBank.mixing``'s
  per-sequence forward) is called as the module, and so is the embedding when it has hooks, so expert
  mixing, the LoRA adapters and the CGED injection hook at ``<som>`` act exactly as inside ``generate``;
  a LoRA layer that ``ExpertBank.merged`` bypassed to its base layer, or a bare ``nn.Linear``, runs as
  ``F.linear`` on its weights (the module calls and peft's wrapper were a large part of the overhead);
- the attention mirrors transformers' SDPA integration: no mask and ``enable_gqa`` when no prompt is
  padded, else a boolean padding mask with the query packed per key/value head (decoding) or the keys
  repeated (the prompt);
- the token choice mirrors ``motion_logits_processor`` followed by HF's temperature and top-k warpers,
  softmax and ``torch.multinomial`` over the full vocabulary (the draws depend on its size).

Only Llama-architecture models (``tiny``, SmolLM2) with SDPA attention and position-independent RoPE
are supported; ``static_unsupported`` says why another one is not (``generate_codes`` then uses HF).
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

_ROPE_OK = {"default", "linear", "llama3", "yarn"}  # inverse frequencies fixed once built (no seq-len rescaling)
_TABLES: "weakref.WeakKeyDictionary[nn.Module, dict]" = weakref.WeakKeyDictionary()  # RoPE tables per model


def base_causal_lm(model: nn.Module) -> nn.Module:
    """The transformers causal LM under a peft wrapper (or ``model`` itself)."""
    get = getattr(model, "get_base_model", None)
    return get() if callable(get) else model


def static_unsupported(model: nn.Module) -> str | None:
    """None when the static decoder reproduces ``generate`` on ``model``, else the reason it cannot."""
    lm = base_causal_lm(model)
    cfg = getattr(lm, "config", None)
    if cfg is None or getattr(cfg, "model_type", None) != "llama":
        return f"model type {getattr(cfg, 'model_type', None)!r} (the static decoder knows Llama only)"
    if getattr(cfg, "_attn_implementation", "sdpa") != "sdpa":
        return f"attention {cfg._attn_implementation!r} (the static decoder mirrors SDPA)"
    rope = (getattr(cfg, "rope_parameters", None) or getattr(cfg, "rope_scaling", None) or {}).get("rope_type", "default")
    if rope not in _ROPE_OK:
        return f"RoPE type {rope!r} rescales with the sequence length"
    if getattr(cfg, "hidden_act", "silu") != "silu" or getattr(cfg, "pretraining_tp", 1) != 1:
        return "MLP activation other than SiLU or tensor-parallel slicing"
    if torch.nn.modules.module._global_forward_hooks or torch.nn.modules.module._global_forward_pre_hooks:
        return "global module hooks are registered"
    return None


def _hookless(m: nn.Module) -> bool:
    return not (m._forward_hooks or m._forward_pre_hooks or getattr(m, "_forward_hooks_with_kwargs", None))


def plain_linear(module: nn.Module) -> nn.Linear | None:
    """The ``nn.Linear`` whose bare product ``module(x)`` is, or None when the call does more (a LoRA
    adapter, per-sequence expert mixing, a hook): then the module itself must be called."""
    if not _hookless(module):
        return None
    if type(module) is nn.Linear and "forward" not in module.__dict__:
        return module
    fwd = module.__dict__.get("forward")  # ExpertBank.merged: the LoRA layer forwards to its base layer
    target = getattr(fwd, "__self__", None)
    if (getattr(fwd, "__func__", None) is nn.Linear.forward and type(target) is nn.Linear
            and "forward" not in target.__dict__ and _hookless(target)):
        return target
    return None


def _runner(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    lin = plain_linear(module)
    if lin is None:
        return module
    w, b = lin.weight, lin.bias
    return lambda x: F.linear(x, w, b)


def _norm(module: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """transformers' LlamaRMSNorm as one op: torch's rms_norm is the same decomposition (upcast, mean of
    squares, + eps, rsqrt, scale, weight) and gives bit-identical results (tests/test_decode.py)."""
    if not _hookless(module) or "forward" in module.__dict__ or type(module).forward.__qualname__ != "LlamaRMSNorm.forward":
        return module
    w, eps = module.weight, module.variance_epsilon
    if w.dtype != torch.float32:
        return module  # the upcast-then-downcast order of the HF module matters below float32
    shape = (w.shape[0],)
    return lambda x: F.rms_norm(x, shape, w, eps)


@dataclass
class _Layer:
    ln1: Callable
    qkv: torch.Tensor | None  # the q, k and v weights stacked when all three are plain linears without bias
    q: Callable
    k: Callable
    v: Callable
    o: Callable
    ln2: Callable
    gate: Callable
    up: Callable
    down: Callable


def _layer_plan(layer: nn.Module) -> _Layer:
    a, m = layer.self_attn, layer.mlp
    lins = [plain_linear(x) for x in (a.q_proj, a.k_proj, a.v_proj)]
    # one product instead of three: each output row is the same dot product (tests/test_decode.py checks the bits)
    qkv = torch.cat([x.weight for x in lins]) if all(x is not None and x.bias is None for x in lins) else None
    return _Layer(_norm(layer.input_layernorm), qkv, _runner(a.q_proj), _runner(a.k_proj), _runner(a.v_proj),
                  _runner(a.o_proj), _norm(layer.post_attention_layernorm), _runner(m.gate_proj), _runner(m.up_proj),
                  _runner(m.down_proj))


class StaticDecoder:
    """One decoding pass: resolves what each module of the backbone computes *now* (inside the caller's
    conditioning context: merged or mixed experts), then prefill and token-by-token steps."""

    def __init__(self, model: nn.Module, first_id: int, codebook_size: int, end_id: int) -> None:
        self.lm = base_causal_lm(model)
        cfg = self.lm.config
        inner = self.lm.model
        self.embed_module = inner.embed_tokens
        # hooks on the embedding (ES-MoE's CGED injection at <som>) run: the module is called whenever it has any
        emb = inner.embed_tokens
        plain_emb = type(emb) is nn.Embedding and _hookless(emb) and "forward" not in emb.__dict__
        self.embed = (lambda ids: F.embedding(ids, emb.weight, emb.padding_idx)) if plain_emb else emb
        self.layers = [_layer_plan(layer) for layer in inner.layers[: cfg.num_hidden_layers]]
        self.norm = _norm(inner.norm)
        attn = inner.layers[0].self_attn
        self.head_dim, self.scaling = attn.head_dim, attn.scaling
        self.groups = attn.num_key_value_groups
        self.kv_heads = cfg.num_key_value_heads
        self.heads = cfg.num_attention_heads
        self.rotary = inner.rotary_emb
        # the answer's tokens, ascending as in the full vocabulary (argmax ties resolve the same way)
        ids = sorted([end_id] + list(range(first_id, first_id + codebook_size)))
        self.ids = torch.tensor(ids)
        self.lo, self.hi = ids[0], ids[-1] + 1
        self.contiguous = self.hi - self.lo == len(ids)
        self.end_col = ids.index(end_id)
        head = plain_linear(self.lm.lm_head)
        self.head_weight = None
        if head is not None and head.bias is None:
            w = head.weight
            self.head_weight = w[self.lo:self.hi] if self.contiguous else w.index_select(0, self.ids.to(w.device))
        self.vocab = self.lm.lm_head.out_features

    # -- pieces ------------------------------------------------------------------------------------
    def rope_table(self, length: int, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sign-folded sin for positions 0..length-1, from the model's own rotary module (the same
        elementwise ops as its per-call use, so the same bits), cached per model."""
        key = (length, like.device, like.dtype)
        cached = _TABLES.setdefault(self.lm, {})
        if key not in cached:
            cached.clear()
            pos = torch.arange(length, device=like.device)[None]
            cos, sin = self.rotary(like, pos)
            half = self.head_dim // 2
            cached[key] = (cos[0], torch.cat((-sin[0, :, :half], sin[0, :, half:]), -1))  # see rope()
        return cached[key]

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """(B, d) last hidden states -> (B, n) logits of the answer tokens, float32 like ``generate``."""
        if self.head_weight is not None:
            out = F.linear(h, self.head_weight)
        else:  # a wrapped LM head: compute it whole, keep the answer columns
            full = self.lm.lm_head(h)
            out = full[:, self.lo:self.hi] if self.contiguous else full.index_select(1, self.ids.to(h.device))
        return out.float()

    def layer(self, L: _Layer, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, kc: torch.Tensor,
              vc: torch.Tensor, slot: int | torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """One decoder layer on (B, S, d) states written to cache slots ``slot..slot+S-1`` (transformers'
        LlamaDecoderLayer + LlamaAttention + sdpa_attention_forward, op for op). ``cos``/``sin``: (B, S, 1, D).
        A tensor ``slot`` (one step, for CUDA graphs: no host value) attends over the whole cache under ``mask``."""
        B, S, _ = x.shape
        D, H, G = self.head_dim, self.heads, self.kv_heads
        h = L.ln1(x)
        if L.qkv is not None:
            qkv = F.linear(h, L.qkv)
            qk = self.rope(qkv[..., :(H + G) * D].view(B, S, H + G, D), cos, sin)  # q and k rotated together
            q, k = qk[:, :, :H].transpose(1, 2), qk[:, :, H:].transpose(1, 2)
            v = qkv[..., (H + G) * D:].view(B, S, G, D).transpose(1, 2)
        else:
            q = self.rope(L.q(h).view(B, S, H, D), cos, sin).transpose(1, 2)
            k = self.rope(L.k(h).view(B, S, G, D), cos, sin).transpose(1, 2)
            v = L.v(h).view(B, S, G, D).transpose(1, 2)
        if isinstance(slot, torch.Tensor):
            keys, values = kc.index_copy_(2, slot, k), vc.index_copy_(2, slot, v)
        else:
            kc[:, :, slot:slot + S] = k
            vc[:, :, slot:slot + S] = v
            keys, values = kc.narrow(2, 0, slot + S), vc.narrow(2, 0, slot + S)
        if self.groups == 1:
            a = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask, dropout_p=0.0, scale=self.scaling,
                                               is_causal=S > 1 and mask is None)
        elif mask is None:
            a = F.scaled_dot_product_attention(q, keys, values, attn_mask=None, dropout_p=0.0, scale=self.scaling,
                                               is_causal=S > 1, enable_gqa=True)
        elif S == 1:  # one query per sequence: pack the query heads per key/value head
            a = F.scaled_dot_product_attention(q.reshape(B, G, self.groups, D), keys, values, attn_mask=mask,
                                               dropout_p=0.0, scale=self.scaling, is_causal=False)
        else:
            rep = lambda t: t[:, :, None].expand(B, G, self.groups, t.shape[2], D).reshape(B, H, t.shape[2], D)  # noqa: E731
            a = F.scaled_dot_product_attention(q, rep(keys), rep(values), attn_mask=mask, dropout_p=0.0,
                                               scale=self.scaling, is_causal=False)
        a = a.reshape(B, H, S, D).transpose(1, 2).reshape(B, S, H * D)
        x = x + L.o(a)
        h = L.ln2(x)
        return x + L.down(F.silu(L.gate(h)) * L.up(h))

    def rope(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """transformers' ``q * cos + rotate_half(q) * sin`` on (B, S, heads, D): rotate_half swaps the halves
        and negates the first, which the sign-folded ``sin`` does (IEEE negation commutes with the product)."""
        B, S, n, D = x.shape
        return x * cos + x.view(B, S, n, 2, D // 2).flip(-2).view(B, S, n, D) * sin

    def forward(self, ids: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, caches: list, slot: int | torch.Tensor,
                mask: torch.Tensor | None) -> torch.Tensor:
        """(B, S) token ids -> (B, d) final hidden state of the last position."""
        x = self.embed(ids)
        for L, (kc, vc) in zip(self.layers, caches):
            x = self.layer(L, x, cos, sin, kc, vc, slot, mask)
        return self.norm(x[:, -1])

    # -- the loop ----------------------------------------------------------------------------------
    @torch.inference_mode()
    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, min_tokens: int, max_tokens: int,
                 pad_id: int, sample: bool = False, temperature: float = 1.0, top_k: int = 0,
                 graphs: bool = False) -> torch.Tensor:
        """(B, n) answer ids as ``generate(...)[:, prompt_len:]`` gives them: n <= max_tokens + 1 steps, the end
        marker allowed from ``min_tokens`` on and forced at ``max_tokens``, ``pad_id`` after a row's end.
        ``graphs``: on CUDA, greedy steps replayed from a CUDA graph (``decode_graph.py``; not bit-exact)."""
        st = self.prefill(input_ids, attention_mask, max_tokens, zero_cache=graphs)
        chooser = _Chooser(self, len(input_ids), min_tokens, max_tokens, sample, temperature, top_k, input_ids.device)
        if graphs and input_ids.is_cuda and not sample:
            from policies.backbone.decode_graph import graph_loop

            return graph_loop(self, st, chooser, pad_id)
        B, P, T = len(input_ids), input_ids.shape[1], max_tokens + 1
        out = torch.full((B, T), pad_id, dtype=torch.long, device=input_ids.device)
        unfinished = torch.ones(B, dtype=torch.long, device=input_ids.device)
        end_id = int(self.ids[self.end_col])
        fixed = min_tokens >= max_tokens  # no row can end before the forced end: skip the bookkeeping
        h, n = st.h, T
        for t in range(T):
            nxt = chooser(h, t)
            if not fixed:
                nxt = nxt * unfinished + pad_id * (1 - unfinished)
            out[:, t] = nxt
            if t == T - 1:
                break
            if not fixed:
                unfinished = unfinished & (nxt != end_id).long()
                if not bool(unfinished.any()):  # as generate: stop once every row has ended
                    n = t + 1
                    break
            m = st.keep[:, None, None, :P + t + 1] if st.keep is not None else None
            h = self.forward(nxt[:, None], st.cos[:, t:t + 1], st.sin[:, t:t + 1], st.caches, P + t, m)
        return out[:, :n]

    def prefill(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, max_tokens: int,
                zero_cache: bool = False) -> "_State":
        """The prompt pass into fresh caches sized for ``max_tokens + 1`` answer tokens."""
        dev = input_ids.device
        B, P = input_ids.shape
        T = max_tokens + 1
        # position ids as generate derives them from the mask (left padding: each row counts from 0)
        pos = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)
        real = attention_mask.long().sum(-1)
        like = self.embed_module.weight
        cos_t, sin_t = self.rope_table(int(pos.max()) + T + 1, like)
        step_pos = real[:, None] + torch.arange(T, device=dev)  # position of the token fed at step t
        new = torch.zeros if zero_cache else torch.empty
        shape = (B, self.kv_heads, P + T, self.head_dim)
        caches = [(new(shape, dtype=like.dtype, device=dev), new(shape, dtype=like.dtype, device=dev)) for _ in self.layers]
        keep = mask = None
        if not bool(attention_mask.all()):  # left padding: transformers' boolean sdpa masks
            keep = torch.ones(B, P + T, dtype=torch.bool, device=dev)
            keep[:, :P] = attention_mask.bool()
            causal = torch.ones(P, P, dtype=torch.bool, device=dev).tril()
            mask = (causal[None] & keep[:, None, :P])[:, None]  # (B, 1, P, P)
        h = self.forward(input_ids, cos_t[pos].unsqueeze(2), sin_t[pos].unsqueeze(2), caches, 0, mask)
        return _State(h, caches, cos_t[step_pos].unsqueeze(2), sin_t[step_pos].unsqueeze(2), keep, attention_mask.bool())


@dataclass
class _State:
    """After the prompt pass: its last hidden state, the caches, per-step RoPE rows (B, T, 1, D) and the
    padding mask over cache slots (None without padding)."""
    h: torch.Tensor
    caches: list
    cos: torch.Tensor
    sin: torch.Tensor
    keep: torch.Tensor | None
    prompt_mask: torch.Tensor


class _Chooser:
    """The next token from the answer logits: ``motion_logits_processor``'s rule, then (sampling) HF's
    temperature and top-k warpers, softmax and multinomial on a full-vocabulary row, so that the random
    stream is consumed exactly as in ``generate``."""

    def __init__(self, dec: StaticDecoder, B: int, min_tokens: int, max_tokens: int, sample: bool,
                 temperature: float, top_k: int, dev: torch.device) -> None:
        self.dec, self.min, self.max = dec, min_tokens, max_tokens
        self.sample, self.temperature, self.top_k = sample, temperature, top_k
        self.ids = dec.ids.to(dev)
        n = len(dec.ids)
        inf = float("-inf")
        c = dec.end_col
        self.masks = {}  # additive, as the logits processor adds them: 0 allowed, -inf not
        for kind in ("motion", "any", "end"):
            m = torch.zeros(n, device=dev)
            if kind == "motion":
                m[c] = inf
            elif kind == "end":
                m.fill_(inf)
                m[c] = 0.0
            self.masks[kind] = m
        if sample:
            self.full = torch.full((B, dec.vocab), inf, device=dev)

    def kind(self, t: int) -> str:
        return "end" if t >= self.max else ("any" if t >= self.min else "motion")

    def __call__(self, h: torch.Tensor, t: int) -> torch.Tensor:
        """Token ``t`` of the answer from the last hidden states ``h`` (B, d)."""
        kind = self.kind(t)
        if not self.sample and kind == "end":  # the only allowed token: no need for the head
            return self.ids[self.dec.end_col].expand(len(h)).clone()
        return self.choose(self.dec.logits(h), t)

    def choose(self, logits: torch.Tensor, t: int) -> torch.Tensor:
        """Token ``t`` from the answer logits (B, n)."""
        kind = self.kind(t)
        if not self.sample:
            best = (logits if kind == "any" else logits + self.masks[kind]).argmax(-1)  # + 0.0 changes nothing
            return best + self.dec.lo if self.dec.contiguous else self.ids[best]
        scores = self.full
        if self.dec.contiguous:
            scores[:, self.dec.lo:self.dec.hi] = logits + self.masks[kind]
        else:
            scores[:, self.ids] = logits + self.masks[kind]
        if self.temperature != 1.0:
            scores = scores / self.temperature
        if self.top_k:
            k = min(self.top_k, scores.shape[-1])
            scores = scores.masked_fill(scores < torch.topk(scores, k)[0][..., -1, None], float("-inf"))
        probs = F.softmax(scores, dim=-1)
        return torch.multinomial(probs, num_samples=1).squeeze(1)

