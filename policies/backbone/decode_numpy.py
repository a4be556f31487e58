"""Motion-token decoding in NumPy on the CPU (issue 24): the static decoder's loop with every step's arithmetic
in NumPy arrays instead of torch tensors.

On a small backbone a decoding step is dozens of tiny products and elementwise ops, and their cost is the
per-call overhead of the library, not the arithmetic: on this 2-core VM, one thread, a 1024x192
matrix-vector product costs 40 us through ``F.linear`` and 15 us through NumPy, an RMSNorm of 192 values
19 us as ``torch.rms_norm`` and 3 us in NumPy (``python benchmarks/decode_overhead.py``).

What runs here is what ``decode.StaticDecoder`` resolved for the same model (embedding, RMSNorms, q/k/v/o
and MLP projections, RoPE tables, the answer rows of the LM head, the token rule), with one more kind of
projection understood: an ``ExpertBank.mixing`` layer (per-sequence expert weights), computed as
``x W^T + ((x A^T) * c) B^T`` over the experts' stacked low-rank factors. ES-MoE therefore does not fold
its experts into the base weights for this decoder (``ESMoE.condition``): no copy of the targeted base
weights per request (the fold and its restore were ~10 ms of a ~70 ms batch-1 request on the tiny backbone).

Not bit-identical to the torch paths: NumPy's BLAS sums in another order than torch's, so logits differ in
the last bits and a greedy choice between two logits closer than that could differ. ``tests/test_decode.py``
compares the tokens with the Hugging Face path on many prompts. ``numpy_unsupported`` says why a model or
context cannot run here (CUDA, not float32, a projection that is neither a plain linear nor an expert mix,
an LM head that is not plain); ``generate_codes`` then uses the torch static decoder.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from policies.backbone.decode import StaticDecoder, _Chooser, plain_linear
from policies.torch_utils import memo_on_tensors


_BLAS: dict = {}


@contextmanager
def blas_threads_as_torch():
    """NumPy's BLAS limited to torch's thread count inside the block (one per worker when several run).
    threadpoolctl's scan of the loaded libraries is done once per process; only the limit is set per call."""
    from threadpoolctl import ThreadpoolController

    if "controller" not in _BLAS:
        _BLAS["controller"] = ThreadpoolController().select(user_api="blas")
    ctl = _BLAS["controller"]
    want = torch.get_num_threads()
    if all(info["num_threads"] == want for info in ctl.info()):
        yield
        return
    with ctl.limit(limits=want):
        yield


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy()


@dataclass
class _Proj:
    """y = x W^T (+ ((x A^T) * coef) B^T): a plain linear or a layer under per-sequence expert weights."""
    w: np.ndarray  # (out, in)
    a: np.ndarray | None = None  # (R, in) every expert's down-projection, stacked
    b: np.ndarray | None = None  # (out, R) their up-projections, LoRA scaling folded in
    coef: np.ndarray | None = None  # (B, R) each sequence's weight on each rank row
    source: torch.Tensor | None = None  # the torch weight ``w`` views (``_stacked`` caches by it)

    def __post_init__(self) -> None:
        self.wt = self.w.T  # views: BLAS reads the transposes in place
        self.at = self.a.T if self.a is not None else None
        self.bt = self.b.T if self.b is not None else None
        self._coef_rows: dict[int, np.ndarray] = {}

    def __call__(self, x: np.ndarray, per_row: int) -> np.ndarray:
        """x: (B * per_row, in), ``per_row`` consecutive rows per sequence -> (B * per_row, out)."""
        y = x @ self.wt
        if self.at is not None:
            c = self.coef if per_row == 1 else self._coef_rows.get(per_row)
            if c is None:
                c = self._coef_rows[per_row] = np.repeat(self.coef, per_row, axis=0)
            z = x @ self.at
            z *= c
            y += z @ self.bt
        return y


def _stacked(projs: list[_Proj]) -> np.ndarray:
    """The base weights of ``projs`` stacked. Stacking copies every weight (4.5 MB a request on the tiny backbone,
    ~10 % of a batch-1 request), so the copy is kept on the first source tensor until a source changes."""
    src = [p.source for p in projs]
    if any(t is None for t in src):
        return np.concatenate([p.w for p in projs])
    return memo_on_tensors(src[0], "_l2emg_stacked", src, lambda: np.concatenate([p.w for p in projs]))


def fused(projs: list[_Proj]) -> _Proj:
    """Projections of the same input as one: weights stacked, low-rank factors stacked with each B placed at
    its projection's output rows (one product each for W, A and B instead of one per projection)."""
    if len(projs) == 1:
        return projs[0]
    w = _stacked(projs)
    low = [(i, p) for i, p in enumerate(projs) if p.a is not None]
    if not low:
        return _Proj(w)
    starts = np.cumsum([0] + [len(p.w) for p in projs])
    a = np.concatenate([p.a for _, p in low])
    b = np.zeros((len(w), len(a)), np.float32)
    col = 0
    for i, p in low:
        b[starts[i]:starts[i + 1], col:col + len(p.a)] = p.b
        col += len(p.a)
    return _Proj(w, a, b, np.concatenate([p.coef for _, p in low], 1))


def _mixed_parts(module) -> tuple | None:
    fwd = module.__dict__.get("forward")
    return getattr(fwd, "mixing_parts", None)


def projection(module, rows: int) -> _Proj | str:
    """The NumPy form of a projection module under the current context, or why there is none."""
    lin = plain_linear(module)
    if lin is not None:
        return _Proj(_np(lin.weight), source=lin.weight) if lin.bias is None else "a projection with a bias"
    parts = _mixed_parts(module)
    if parts is None:
        return f"projection {type(module).__name__} is neither a plain linear nor an expert mix"
    layer, stack, bank = parts
    w = bank.weights
    if w is None or getattr(layer, "merged", False) or layer.disable_adapters:
        return "an expert layer outside a mixing block"
    base = layer.get_base_layer()
    if base.bias is not None or not plain_linear(base):
        return "an expert layer whose base is not a plain linear without bias"
    if len(w) != rows:
        return f"expert weights for {len(w)} rows, {rows} sequences"
    own = [(j, n) for j, n in enumerate(bank.names) if n in bank.trainable]
    if any(layer.lora_dropout[n].training for _, n in own):
        return "an expert in training mode (dropout)"
    tensors = ([stack[0], stack[1]] if stack is not None else []) + \
        [t for _, n in own for t in (layer.lora_A[n].weight, layer.lora_B[n].weight)]
    if not tensors:
        return _Proj(_np(base.weight), source=base.weight)
    scalings = tuple(float(layer.scaling[n]) for _, n in own)

    def build() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every expert's A and B stacked (frozen stack first), and per rank row the expert column of the weights
        and the LoRA scaling it takes (1 for the stack, whose B has it folded in)."""
        a_parts = [_np(stack[0])] if stack is not None else []
        b_parts = [_np(stack[1])] if stack is not None else []
        cols = [stack[2].numpy()] if stack is not None else []
        scale = [np.ones(len(stack[2]), np.float32)] if stack is not None else []
        for (j, n), sc in zip(own, scalings):
            A = layer.lora_A[n].weight
            a_parts.append(_np(A))
            b_parts.append(_np(layer.lora_B[n].weight))
            cols.append(np.full(A.shape[0], j))
            scale.append(np.full(A.shape[0], sc, np.float32))
        return np.concatenate(a_parts), np.concatenate(b_parts, 1), np.concatenate(cols), np.concatenate(scale)

    # rebuilt only when an expert or its weights change; the per-sequence part is one gather and product
    a, b, cols, scale = memo_on_tensors(layer, "_l2emg_numpy_low_rank", tensors, build,
                                        (tuple(own), scalings, stack is not None))
    coef = _np(w.float())[:, cols] * scale
    return _Proj(_np(base.weight), a, b, coef, source=base.weight)


@dataclass
class _NpLayer:
    ln1: np.ndarray
    ln2: np.ndarray
    qkv: _Proj  # q, k and v fused (the same input)
    o: _Proj
    gate_up: _Proj  # gate and up fused
    down: _Proj


def _rms_weight(fn: Callable, module) -> np.ndarray | None:
    """The weight when ``decode._norm`` reduced the module to torch's rms_norm (float32, no hooks)."""
    return _np(module.weight) if fn is not module else None


def numpy_unsupported(dec: StaticDecoder, rows: int) -> str | None:
    """None when :class:`NumpyDecoder` can run what ``dec`` resolved, else why not."""
    try:
        NumpyDecoder(dec, rows)
    except NumpyUnsupported as exc:
        return str(exc)
    return None


class NumpyUnsupported(Exception):
    """What the NumPy decoder cannot run in the current model or context (the torch loop serves it)."""


class NumpyDecoder:
    """Prefill and greedy/sampled steps in NumPy for a ``StaticDecoder``'s resolved model (``rows`` sequences)."""

    def __init__(self, dec: StaticDecoder, rows: int) -> None:
        emb = dec.embed_module
        if emb.weight.device.type != "cpu" or emb.weight.dtype != torch.float32:
            raise NumpyUnsupported("NumPy decoding is for float32 on the CPU")
        if dec.head_weight is None:
            raise NumpyUnsupported("the LM head is not a plain linear")
        self.dec = dec
        inner = dec.lm.model
        self.layers, self.eps = [], []
        self.sources: list[torch.Tensor] = []  # every projection's base weight (what a cache of derived arrays keys on)
        for L, layer in zip(dec.layers, inner.layers):
            norms = (_rms_weight(L.ln1, layer.input_layernorm), _rms_weight(L.ln2, layer.post_attention_layernorm))
            if any(n is None for n in norms):
                raise NumpyUnsupported("an RMSNorm that is not the plain float32 one")
            a, m = layer.self_attn, layer.mlp
            projs = [projection(x, rows) for x in (a.q_proj, a.k_proj, a.v_proj, a.o_proj, m.gate_proj, m.up_proj, m.down_proj)]
            why = next((p for p in projs if isinstance(p, str)), None)
            if why:
                raise NumpyUnsupported(why)
            q, k, v, o, gate, up, down = projs
            self.sources += [p.source for p in projs]
            self.layers.append(_NpLayer(*norms, fused([q, k, v]), o, fused([gate, up]), down))
            self.eps.append((np.float32(layer.input_layernorm.variance_epsilon),
                             np.float32(layer.post_attention_layernorm.variance_epsilon)))
        self.final_norm = _rms_weight(dec.norm, inner.norm)
        if self.final_norm is None:
            raise NumpyUnsupported("a final norm that is not the plain float32 one")
        self.final_eps = np.float32(inner.norm.variance_epsilon)
        self.table = _np(emb.weight)
        # Hooks on the embedding (ES-MoE's CGED injection) act on the tokens they declare only; the answer's
        # tokens are read from the table when none of them is such a token, else the module runs.
        hooked = bool(emb._forward_hooks or emb._forward_pre_hooks)
        self.hook_tokens = getattr(emb, "l2emg_hooks_act_on", None) if hooked else set()
        self.head = _np(dec.head_weight)

    def new_caches(self, B: int, length: int) -> list:
        """Per-layer (keys, values) buffers of ``length`` positions."""
        shape = (B, self.dec.kv_heads, length, self.dec.head_dim)
        return [(np.zeros(shape, np.float32), np.zeros(shape, np.float32)) for _ in self.layers]

    @staticmethod
    def _rms(x: np.ndarray, w: np.ndarray, eps: np.float32) -> np.ndarray:
        """transformers' LlamaRMSNorm in float32 on (N, d) rows."""
        ms = (x * x).sum(-1, keepdims=True)
        ms *= np.float32(1.0 / x.shape[-1])
        ms += eps
        return x * (1.0 / np.sqrt(ms)) * w

    def _embed(self, ids: torch.Tensor) -> np.ndarray:
        if self.hook_tokens is not None and not any(i in self.hook_tokens for i in ids.reshape(-1).tolist()):
            return self.table[ids.numpy()]
        return _np(self.dec.embed_module(ids))

    @staticmethod
    def _rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
        """(N, n, D): x * cos + rotate_half(x) * sin, the sign of rotate_half folded into ``sin``."""
        h = x.shape[-1] // 2
        return x * cos + np.concatenate((x[..., h:], x[..., :h]), -1) * sin

    def forward(self, x: np.ndarray, cos: np.ndarray, sin: np.ndarray, caches: list, slot: int,
                mask: np.ndarray | None) -> np.ndarray:
        """(B, S, d) embeddings written to cache slots slot..slot+S-1 -> (B, d) final state of the last position.
        ``cos``/``sin``: (B * S, 1, D); ``mask``: (B, 1, 1, S, slot+S), True where a query may attend a key,
        or None for all."""
        dec = self.dec
        B, S, d = x.shape
        D, H, G, k = dec.head_dim, dec.heads, dec.kv_heads, dec.groups
        scale = np.float32(dec.scaling)
        x = x.reshape(B * S, d)
        for L, (e1, e2), (kc, vc) in zip(self.layers, self.eps, caches):
            h = self._rms(x, L.ln1, e1)
            qkv = L.qkv(h, S)
            qk = self._rope(qkv[:, :(H + G) * D].reshape(B * S, H + G, D), cos, sin)  # q and k rotated together
            q = qk[:, :H]
            kc[:, :, slot:slot + S] = qk[:, H:].reshape(B, S, G, D).transpose(0, 2, 1, 3)
            vc[:, :, slot:slot + S] = qkv[:, (H + G) * D:].reshape(B, S, G, D).transpose(0, 2, 1, 3)
            keys, values = kc[:, :, :slot + S], vc[:, :, :slot + S]
            # query heads g*k .. g*k+k-1 share key/value head g (transformers' repeat_kv)
            qg = q.reshape(B, S, G, k, D).transpose(0, 2, 3, 1, 4).reshape(B, G, k * S, D) if S > 1 else q.reshape(B, G, k, D)
            s = qg @ keys.transpose(0, 1, 3, 2)  # (B, G, k*S, T)
            s *= scale
            if mask is not None:
                s = np.where(mask, s.reshape(B, G, k, S, -1), np.float32(-np.inf)).reshape(B, G, k * S, -1)
            s -= s.max(-1, keepdims=True)
            np.exp(s, out=s)
            s /= s.sum(-1, keepdims=True)
            a = s @ values  # (B, G, k*S, D)
            a = a.reshape(B, G, k, S, D).transpose(0, 3, 1, 2, 4).reshape(B * S, H * D) if S > 1 else a.reshape(B, H * D)
            x = x + L.o(a, S)
            h = self._rms(x, L.ln2, e2)
            gu = L.gate_up(h, S)
            half = gu.shape[1] // 2
            g, u = gu[:, :half], gu[:, half:]
            u *= g
            np.negative(g, out=g)
            np.exp(g, out=g)
            g += np.float32(1.0)
            u /= g  # silu(g) * up = g * up / (1 + e^-g)
            x = x + L.down(u, S)
        return self._rms(x.reshape(B, S, d)[:, -1], self.final_norm, self.final_eps)

    def greedy_loop(self, h: np.ndarray, out: np.ndarray, min_tokens: int, max_tokens: int, pad_id: int,
                    cos_t: np.ndarray, sin_t: np.ndarray, step_pos: np.ndarray, step_keep: np.ndarray, P: int) -> int | None:
        """A faster greedy loop filling ``out`` and returning its length, or None: the loop below serves."""
        return None

    def generate(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, min_tokens: int, max_tokens: int,
                 pad_id: int, sample: bool = False, temperature: float = 1.0, top_k: int = 0) -> torch.Tensor:
        """As ``StaticDecoder.generate``: (B, n) answer ids, the end marker allowed from ``min_tokens``, forced at
        ``max_tokens``, ``pad_id`` after a row's end."""
        dec = self.dec
        B, P = input_ids.shape
        T = max_tokens + 1
        keep = attention_mask.numpy().astype(bool)
        pos = (attention_mask.long().cumsum(-1) - 1).masked_fill(attention_mask == 0, 0)
        real = attention_mask.long().sum(-1)
        cos_t, sin_t = (_np(t) for t in dec.rope_table(int(pos.max()) + T + 1, dec.embed_module.weight))
        step_pos = (real[:, None] + torch.arange(T)).numpy()
        caches = self.new_caches(B, P + T)
        # the prompt: causal over real tokens; a padding query attends itself (its row is never read, but an
        # all-masked row would make NaNs that the next layer's padded keys carry into real rows as 0 * NaN)
        causal = np.tril(np.ones((P, P), bool))
        mask = (causal[None] & (keep[:, None, :] | np.eye(P, dtype=bool)[None]))[:, None, None]
        p = pos.numpy().reshape(-1)
        h = self.forward(self._embed(input_ids), cos_t[p][:, None], sin_t[p][:, None], caches, 0, mask)
        chooser = _Chooser(dec, B, min_tokens, max_tokens, sample, temperature, top_k, input_ids.device)
        out = np.full((B, T), pad_id, dtype=np.int64)
        unfinished = np.ones(B, dtype=bool)
        end_id = int(dec.ids[dec.end_col])
        ids = dec.ids.numpy()
        fixed = min_tokens >= max_tokens
        step_keep = np.ones((B, P + T), bool)
        step_keep[:, :P] = keep
        padded = not keep.all()
        if not sample:
            n = self.greedy_loop(h, out, min_tokens, max_tokens, pad_id, cos_t, sin_t, step_pos, step_keep, P)
            if n is not None:
                return torch.from_numpy(out[:, :n])
        n = T
        for t in range(T):
            kind = chooser.kind(t)
            if not sample and kind == "end":
                nxt = np.full(B, end_id, dtype=np.int64)
            else:
                logits = h @ self.head.T
                if sample:
                    nxt = chooser.choose(torch.from_numpy(logits), t).numpy()
                else:
                    if kind == "motion":
                        logits[:, dec.end_col] = -np.inf
                    best = logits.argmax(-1)
                    nxt = best + dec.lo if dec.contiguous else ids[best]
            if not fixed:
                nxt = np.where(unfinished, nxt, pad_id)
            out[:, t] = nxt
            if t == T - 1:
                break
            if not fixed:
                unfinished &= nxt != end_id
                if not unfinished.any():
                    n = t + 1
                    break
            m = step_keep[:, None, None, None, :P + t + 1] if padded else None
            x = self._embed(torch.from_numpy(nxt[:, None]))
            h = self.forward(x, cos_t[step_pos[:, t]][:, None], sin_t[step_pos[:, t]][:, None], caches, P + t, m)
        return torch.from_numpy(out[:, :n])
