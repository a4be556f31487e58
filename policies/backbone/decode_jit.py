"""Motion-token decoding compiled (issue 24): the NumPy decoder's model, each pass through it one Numba-compiled
function (``_forward``) and the whole greedy loop another (``_greedy``), instead of ~30 NumPy calls a layer and token.

Why: on the tiny backbone a batch-1 step is ~120 small NumPy calls (products, norms, RoPE, attention, SiLU), and
their per-call cost (5-20 us each) is most of the ~1.1 ms a token, not the 3.4 MFLOP of arithmetic. Compiled, a
step is its matrix products plus loops over a few thousand numbers. Products with more than one row (the prompt,
batched steps) call NumPy's own OpenBLAS (``_numpy_sgemm``), which is 2-3x faster here than the scipy BLAS that
Numba's ``np.dot`` reaches; single rows use ``np.dot`` (the same speed).

What runs is exactly what ``decode_numpy.NumpyDecoder`` resolved for the same model and context (plain or fused
projections, ES-MoE's per-sequence expert mixing as stacked low-rank factors, RMSNorm weights, RoPE tables, GQA),
stacked over layers. The base weights are transposed and stacked once and kept while the model's tensors are
unchanged (``memo_on_tensors``: an optimizer step or a fold bumps their version). Sampling keeps the Python loop
(torch's random stream) with the compiled step. Like the NumPy decoder it is not bit-identical to torch (sums in
another order); ``tests/test_decode_numpy.py`` runs every NumPy-decoder test with this one too. Where Numba is not
installed or the layers differ in shape, the NumPy decoder serves (``JitUnsupported`` says why, debug-logged).
"""
from __future__ import annotations

import numpy as np

from policies.backbone.decode_numpy import NumpyDecoder, NumpyUnsupported, _Proj
from policies.torch_utils import memo_on_tensors

try:  # an optional speed-up: without Numba the NumPy decoder serves
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    njit = None


def _numpy_sgemm() -> int:
    """The address of ``cblas_sgemm`` in NumPy's own OpenBLAS (the ILP64 ``scipy-openblas64`` build that NumPy's Linux
    wheels bundle), or 0 where it is not found: then the compiled code multiplies with Numba's ``np.dot``, which
    calls scipy's BLAS, 2-3x slower here on matrix-matrix products (36 vs 19 GFLOP/s at 800 x 192 x 1024, one
    thread). The address is passed to the compiled functions at every call, never compiled in: Numba's on-disk
    cache must not hold a pointer into one process's memory."""
    import ctypes
    import glob
    import os

    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "libscipy_openblas64_*.so"))
    if len(libs) != 1:
        return 0
    try:
        fn = ctypes.CDLL(libs[0]).scipy_cblas_sgemm64_  # the library NumPy loaded: the same thread settings
    except (OSError, AttributeError):
        return 0
    return int(ctypes.cast(fn, ctypes.c_void_p).value or 0)


class JitUnsupported(NumpyUnsupported):
    """What the compiled decoder cannot run though the NumPy decoder can (without Numba, layers of unequal shapes)."""


if njit is not None:
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def _sgemm(typingctx, addr, m, n, k, a, b, c):
        """cblas_sgemm(RowMajor, NoTrans, NoTrans, m, n, k, 1, a, k, b, n, 0, c, n) called at ``addr`` (ILP64)."""
        def codegen(context, builder, signature, args):
            i32, i64, f32, ptr = ir.IntType(32), ir.IntType(64), ir.FloatType(), ir.IntType(8).as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, f32, ptr, i64, ptr, i64, f32, ptr, i64])
            at, m_, n_, k_, a_, b_, c_ = args
            builder.call(builder.inttoptr(at, fnty.as_pointer()),
                         [i32(101), i32(111), i32(111), m_, n_, k_, f32(1.0), builder.inttoptr(a_, ptr), k_,
                          builder.inttoptr(b_, ptr), n_, f32(0.0), builder.inttoptr(c_, ptr), n_])
            return context.get_dummy_value()
        return types.void(addr, m, n, k, a, b, c), codegen

    @njit(cache=True)
    def _mm(x, w, blas):
        """x @ w for C-contiguous float32 matrices: NumPy's BLAS at ``blas`` for matrix-matrix products, Numba's
        np.dot for a single row (matrix-vector speed either way) or where ``blas`` is 0."""
        if blas == 0 or x.shape[0] == 1 or not (x.flags.c_contiguous and w.flags.c_contiguous):
            return np.dot(x, w)
        y = np.empty((x.shape[0], w.shape[1]), np.float32)
        _sgemm(blas, x.shape[0], w.shape[1], x.shape[1], x.ctypes.data, w.ctypes.data, y.ctypes.data)
        return y
    @njit(cache=True)
    def _rms(x, w, eps):
        B, d = x.shape
        out = np.empty_like(x)
        for b in range(B):
            ms = np.float32(0.0)
            for i in range(d):
                ms += x[b, i] * x[b, i]
            inv = np.float32(1.0) / np.sqrt(ms / np.float32(d) + eps)
            for i in range(d):
                out[b, i] = x[b, i] * inv * w[i]
        return out

    @njit(cache=True)
    def _proj(x, wt, at, bt, coef, S, blas):
        """x W^T (+ ((x A^T) * coef) B^T), the transposes given contiguous; ``coef`` (B, R) per sequence, x's rows
        ``S`` consecutive ones per sequence."""
        y = _mm(x, wt, blas)
        if at.shape[1] > 0:
            z = _mm(x, at, blas)
            for r in range(z.shape[0]):
                z[r] *= coef[r // S]
            y += _mm(z, bt, blas)
        return y

    @njit(cache=True, fastmath=True)
    def _exp_inplace(v, bits):
        """v = exp(v) over a contiguous float32 vector, Cephes' expf (range reduction by ln 2, a degree-5
        polynomial, the power of two set in the exponent bits; within 5 ulp of exp, test), in a loop the compiler
        vectorizes: a scalar exp per element was ~10 % of a batched request (SiLU and softmax). ``bits``: int32
        scratch of at least v's length. Inputs are clamped to [-87, 88]: below -87 gives exp(-87), not 0 (callers
        add it to 1 or to a sum that holds exp(0)), above 88 exp(88), not inf; NaN is not defined under fastmath
        (the callers' inputs are finite: scores minus their maximum, and negated gate activations)."""
        n = v.shape[0]
        for i in range(n):
            x = min(max(v[i], np.float32(-87.0)), np.float32(88.0))
            fx = np.floor(x * np.float32(1.44269504088896341) + np.float32(0.5))
            x = x - fx * np.float32(0.693359375) - fx * np.float32(-2.12194440e-4)
            y = np.float32(1.9875691500e-4) * x + np.float32(1.3981999507e-3)
            y = y * x + np.float32(8.3334519073e-3)
            y = y * x + np.float32(4.1665795894e-2)
            y = y * x + np.float32(1.6666665459e-1)
            y = y * x + np.float32(5.0000001201e-1)
            v[i] = y * (x * x) + x + np.float32(1.0)
            bits[i] = (np.int32(fx) + np.int32(127)) << np.int32(23)
        scale = bits[:n].view(np.float32)
        for i in range(n):
            v[i] *= scale[i]

    @njit(cache=True, fastmath=True)
    def _dot(a, b):
        """a . b of two contiguous vectors, summed in whatever order vectorizes (attention's scores, otherwise one
        chain of dependent adds per key)."""
        acc = np.float32(0.0)
        for i in range(a.shape[0]):
            acc += a[i] * b[i]
        return acc

    @njit(cache=True, fastmath=True)
    def _axpy(w, v, o):
        """o += w * v over contiguous vectors."""
        for i in range(v.shape[0]):
            o[i] += w * v[i]

    @njit(cache=True)
    def _forward(x, S, ln1, ln2, eps1, eps2, wqkv, aqkv, bqkv, cqkv, wo, ao, bo, co, wgu, agu, bgu, cgu,
                 wdn, adn, bdn, cdn, kc, vc, slot, cos, sin, keymask, H, G, D, scale, fw, feps, blas):
        """S positions per row through every layer: x (B * S, d) embeddings, row-major by sequence -> (B, d)
        final-normed states of each sequence's last position. Writes keys and values of positions slot ..
        slot+S-1 into kc/vc (L, B, G, T, D). cos/sin (B * S, D), sin's first half negated (rotate_half's sign).
        A query at position p attends positions t <= p with keymask[b, t] (B, >= slot+S), and always itself
        (a padding query in the prompt: its row is never read, but an empty softmax would be NaN)."""
        N, d = x.shape
        B = N // S
        k = H // G
        half = D // 2
        x = x.copy()
        s = np.empty(slot + S, np.float32)
        bits = np.empty(max(slot + S, N * (wgu.shape[2] // 2)), np.int32)
        for layer in range(wqkv.shape[0]):
            h = _rms(x, ln1[layer], eps1[layer])
            qkv = _proj(h, wqkv[layer], aqkv[layer], bqkv[layer], cqkv[layer], S, blas)
            rot = np.empty((N, H + G, D), np.float32)
            for r in range(N):
                b, p = r // S, slot + r % S
                for n in range(H + G):
                    base = n * D
                    for i in range(D):
                        j = i + half if i < half else i - half
                        rot[r, n, i] = qkv[r, base + i] * cos[r, i] + qkv[r, base + j] * sin[r, i]
                for g in range(G):
                    for i in range(D):
                        kc[layer, b, g, p, i] = rot[r, H + g, i]
                        vc[layer, b, g, p, i] = qkv[r, (H + G) * D + g * D + i]
            att = np.zeros((N, H * D), np.float32)
            for r in range(N):
                b, p = r // S, slot + r % S
                for hq in range(H):
                    g = hq // k
                    q = rot[r, hq]
                    top = np.float32(-np.inf)
                    for t in range(p + 1):
                        if keymask[b, t] or t == p:
                            s[t] = _dot(q, kc[layer, b, g, t]) * scale
                            if s[t] > top:
                                top = s[t]
                    for t in range(p + 1):
                        s[t] = s[t] - top if keymask[b, t] or t == p else np.float32(0.0)  # masked: never read
                    _exp_inplace(s[:p + 1], bits)
                    total = np.float32(0.0)
                    for t in range(p + 1):
                        if keymask[b, t] or t == p:
                            total += s[t]
                    o = att[r, hq * D:(hq + 1) * D]
                    for t in range(p + 1):
                        if keymask[b, t] or t == p:
                            _axpy(s[t] / total, vc[layer, b, g, t], o)
            x += _proj(att, wo[layer], ao[layer], bo[layer], co[layer], S, blas)
            h = _rms(x, ln2[layer], eps2[layer])
            gu = _proj(h, wgu[layer], agu[layer], bgu[layer], cgu[layer], S, blas)
            inner = gu.shape[1] // 2
            u = np.empty((N, inner), np.float32)
            for r in range(N):
                for i in range(inner):
                    u[r, i] = -gu[r, i]
            _exp_inplace(u.reshape(-1), bits)
            for r in range(N):
                for i in range(inner):
                    u[r, i] = gu[r, i] * gu[r, inner + i] / (np.float32(1.0) + u[r, i])
            x += _proj(u, wdn[layer], adn[layer], bdn[layer], cdn[layer], S, blas)
        last = np.empty((B, d), np.float32)
        for b in range(B):
            last[b] = x[b * S + S - 1]
        return _rms(last, fw, feps)


    @njit(cache=True)
    def _greedy(h, out, table, head_t, ids, end_col, end_id, pad_id, min_tokens, max_tokens, cos_t, sin_t, step_pos,
                step_keep, P, ln1, ln2, eps1, eps2, wqkv, aqkv, bqkv, cqkv, wo, ao, bo, co, wgu, agu, bgu, cgu,
                wdn, adn, bdn, cdn, kc, vc, H, G, D, scale, fw, feps, blas):
        """``NumpyDecoder.generate``'s greedy loop, compiled: answer token t from the states ``h`` (B, d) after the
        prompt (the end marker barred before ``min_tokens``, forced at ``max_tokens``, ``pad_id`` after a row's
        end), then the token's step. Fills ``out`` (B, max_tokens + 1) and returns the number of columns used."""
        B, d = h.shape
        T = max_tokens + 1
        fixed = min_tokens >= max_tokens
        unfinished = np.ones(B, np.bool_)
        nxt = np.empty(B, np.int64)
        x = np.empty((B, d), np.float32)
        cos = np.empty((B, cos_t.shape[1]), np.float32)
        sin = np.empty((B, sin_t.shape[1]), np.float32)
        for t in range(T):
            if t >= max_tokens:
                nxt[:] = end_id
            else:
                logits = _mm(h, head_t, blas)
                for b in range(B):
                    best, top = 0, np.float32(-np.inf)
                    for c in range(logits.shape[1]):
                        if c == end_col and t < min_tokens:
                            continue
                        if logits[b, c] > top:
                            best, top = c, logits[b, c]
                    nxt[b] = ids[best]
            if not fixed:
                for b in range(B):
                    if not unfinished[b]:
                        nxt[b] = pad_id
            out[:, t] = nxt
            if t == T - 1:
                return T
            if not fixed:
                for b in range(B):
                    unfinished[b] = unfinished[b] and nxt[b] != end_id
                if not unfinished.any():
                    return t + 1
            for b in range(B):
                x[b] = table[nxt[b]]
                cos[b] = cos_t[step_pos[b, t]]
                sin[b] = sin_t[step_pos[b, t]]
            h = _forward(x, 1, ln1, ln2, eps1, eps2, wqkv, aqkv, bqkv, cqkv, wo, ao, bo, co, wgu, agu, bgu, cgu,
                         wdn, adn, bdn, cdn, kc, vc, P + t, cos, sin, step_keep, H, G, D, scale, fw, feps, blas)
        return T


_BLAS = _numpy_sgemm() if njit is not None else 0


def _low_rank(projs: list[_Proj], rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The layers' A^T (L, in, R), B^T (L, R, out) and coefficients (L, B, R); R = 0 for plain projections."""
    ranks = {0 if p.a is None else len(p.a) for p in projs}
    if len(ranks) != 1:
        raise JitUnsupported("the layers' expert ranks differ")
    w = projs[0].w
    if ranks == {0}:
        return (np.zeros((len(projs), w.shape[1], 0), np.float32), np.zeros((len(projs), 0, w.shape[0]), np.float32),
                np.zeros((len(projs), rows, 0), np.float32))
    return (np.ascontiguousarray(np.stack([p.a.T for p in projs])), np.ascontiguousarray(np.stack([p.b.T for p in projs])),
            np.ascontiguousarray(np.stack([p.coef for p in projs]), dtype=np.float32))


class JitDecoder(NumpyDecoder):
    """``NumpyDecoder`` whose passes through the model run ``_forward`` and whose greedy loop runs ``_greedy``."""

    def __init__(self, dec, rows: int) -> None:
        if njit is None:
            raise JitUnsupported("numba is not installed")
        super().__init__(dec, rows)
        kinds = {"qkv": [L.qkv for L in self.layers], "o": [L.o for L in self.layers],
                 "gate_up": [L.gate_up for L in self.layers], "down": [L.down for L in self.layers]}
        for name, projs in kinds.items():
            if len({p.w.shape for p in projs}) != 1:
                raise JitUnsupported(f"the layers' {name} projections differ in shape")
        build = lambda: {n: np.ascontiguousarray(np.stack([p.w.T for p in ps])) for n, ps in kinds.items()}  # noqa: E731
        base = memo_on_tensors(self.sources[0], "_l2emg_jit_weights", self.sources, build)
        self.packed = []
        for name in ("qkv", "o", "gate_up", "down"):
            self.packed += [base[name], *_low_rank(kinds[name], rows)]
        self.ln1 = np.stack([L.ln1 for L in self.layers])
        self.ln2 = np.stack([L.ln2 for L in self.layers])
        self.eps1 = np.array([e[0] for e in self.eps], np.float32)
        self.eps2 = np.array([e[1] for e in self.eps], np.float32)
        self.kc = self.vc = None

    def new_caches(self, B: int, length: int) -> list:
        """Per-layer (keys, values) views of one stacked buffer each, which the compiled step reads whole."""
        shape = (len(self.layers), B, self.dec.kv_heads, length, self.dec.head_dim)
        self.kc, self.vc = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        return [(self.kc[i], self.vc[i]) for i in range(len(self.layers))]

    def greedy_loop(self, h: np.ndarray, out: np.ndarray, min_tokens: int, max_tokens: int, pad_id: int,
                    cos_t: np.ndarray, sin_t: np.ndarray, step_pos: np.ndarray, step_keep: np.ndarray, P: int) -> int | None:
        """The whole greedy loop compiled (``_greedy``), unless an embedding hook acts on a token it could feed back
        (then the Python loop runs the module)."""
        dec = self.dec
        ids = dec.ids.numpy().astype(np.int64)
        if self.kc is None or self.hook_tokens is None or pad_id in self.hook_tokens or \
                np.isin(ids, list(self.hook_tokens)).any():
            return None
        return _greedy(np.ascontiguousarray(h), out, self.table, np.ascontiguousarray(self.head.T), ids, int(dec.end_col),
                       int(ids[dec.end_col]), int(pad_id), int(min_tokens), int(max_tokens), np.ascontiguousarray(cos_t),
                       np.ascontiguousarray(sin_t), np.ascontiguousarray(step_pos, dtype=np.int64), step_keep, int(P),
                       self.ln1, self.ln2, self.eps1, self.eps2, *self.packed, self.kc, self.vc, dec.heads, dec.kv_heads,
                       dec.head_dim, np.float32(dec.scaling), self.final_norm, self.final_eps, _BLAS)

    def forward(self, x: np.ndarray, cos: np.ndarray, sin: np.ndarray, caches: list, slot: int,
                mask: np.ndarray | None) -> np.ndarray:
        """As ``NumpyDecoder.forward``, compiled: ``mask`` (B, 1, 1, S, slot+S) is read as its last query's keys
        (which positions hold real tokens), the causal rule and self-attention of padding queries applied inside."""
        B, S, d = x.shape
        # the prompt (S > 1) through NumPy where NumPy's BLAS cannot be reached from compiled code (see _numpy_sgemm)
        if (S > 1 and not _BLAS) or self.kc is None:
            return super().forward(x, cos, sin, caches, slot, mask)
        keymask = np.ones((B, slot + S), np.bool_) if mask is None else np.ascontiguousarray(mask.reshape(B, S, -1)[:, -1])
        dec = self.dec
        return _forward(np.ascontiguousarray(x.reshape(B * S, d)), S, self.ln1, self.ln2, self.eps1, self.eps2, *self.packed,
                        self.kc, self.vc, slot, np.ascontiguousarray(cos.reshape(B * S, -1)),
                        np.ascontiguousarray(sin.reshape(B * S, -1)), keymask, dec.heads, dec.kv_heads, dec.head_dim,
                        np.float32(dec.scaling), self.final_norm, self.final_eps, _BLAS)


def warm_up() -> float:
    """Compile the step now (on tiny arrays of the types a request passes) so that the first request does not
    pay for it: ~10-20 s the first time on a machine, ~1.5 s loading Numba's on-disk cache after. Returns the
    seconds it took (0 without Numba)."""
    import time

    if njit is None:
        return 0.0
    t0 = time.perf_counter()
    f32 = np.float32
    L, B, S, d, H, G, D, R = 1, 1, 2, 4, 2, 1, 2, 1
    w = lambda *shape: np.full(shape, 0.1, f32)  # noqa: E731
    proj = lambda i, o: [w(L, i, o), w(L, i, R), w(L, R, o), w(L, B, R)]  # noqa: E731
    kc, vc = w(L, B, G, S + 2, D), w(L, B, G, S + 2, D)
    weights = [w(L, d), w(L, d), w(L), w(L), *proj(d, (H + 2 * G) * D), *proj(H * D, d), *proj(d, 2 * d), *proj(d, d)]
    h = _forward(w(B * S, d), S, *weights, kc, vc, 0, w(B * S, D), w(B * S, D), np.ones((B, S), np.bool_),
                 H, G, D, f32(1.0), w(d), f32(1e-6), _BLAS)
    _greedy(h, np.zeros((B, 3), np.int64), w(5, d), w(d, 3), np.arange(3, dtype=np.int64), 2, 2, 4, 1, 2, w(6, D),
            w(6, D), np.zeros((B, 3), np.int64), np.ones((B, S + 3), np.bool_), S, *weights, kc, vc, H, G, D, f32(1.0),
            w(d), f32(1e-6), _BLAS)
    return time.perf_counter() - t0
