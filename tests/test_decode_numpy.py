"""The NumPy decoder (policies/backbone/decode_numpy.py), alone and with its compiled step (decode_jit.py), against
transformers' generate: the same tokens
greedy and sampled, batch 1 and batched with padding, with ES-MoE's mixed experts (never folded for it) and
CGED injection, and with the baselines' adapters; it runs (no silent fall-back) where it says it can."""
import dataclasses

import pytest
import torch

from policies.backbone.decode import StaticDecoder
from policies.backbone.decode_numpy import numpy_unsupported
from policies.baselines import BASELINES
from policies.esmoe.experts import ExpertBank
from test_decode import TEXTS, _answers, _codes, _esmoe_with_live_experts, _live_baseline, _lively, tiny  # noqa: F401 (fixture)
from test_esmoe import EMOTIONS, SCENARIOS, backbone, config, samples


@pytest.fixture(params=["numpy", "jit"])
def fast(request, monkeypatch):
    """The NumPy decoder alone and with its compiled step (decode_jit.py); with ``jit``, wherever the NumPy decoder
    takes a request the compiled one must (no silent fall-back to NumPy)."""
    if request.param == "numpy":
        yield "numpy"
        return
    from policies.backbone.decode_jit import JitDecoder
    from policies.backbone.decode_numpy import NumpyDecoder

    kinds = []
    real = NumpyDecoder.generate
    monkeypatch.setattr(NumpyDecoder, "generate", lambda self, *a, **k: kinds.append(type(self)) or real(self, *a, **k))
    yield "jit"
    assert all(k is JitDecoder for k in kinds), "the jit decoder fell back to NumPy"


@pytest.fixture
def no_torch_loop(monkeypatch):
    """Fail if the torch static loop runs: the NumPy decoder must have taken the request."""
    def refuse(self, *a, **k):
        raise AssertionError("the torch static decoder ran: the NumPy decoder fell back")
    monkeypatch.setattr(StaticDecoder, "generate", refuse)


def test_greedy_tokens_equal_generate_batch_1_and_batched(tiny, no_torch_loop, fast):
    for lo, hi in ((20, 20), (2, 30)):
        for text in TEXTS:
            assert torch.equal(_answers(tiny, [text], lo, hi, "hf"), _answers(tiny, [text], lo, hi, fast)), (text, lo, hi)
        assert torch.equal(_answers(tiny, TEXTS, lo, hi, "hf"), _answers(tiny, TEXTS, lo, hi, fast)), (lo, hi)


def test_sampled_tokens_equal_generate_draw_for_draw(tiny, no_torch_loop, fast):
    for seed, top_k, temperature in ((0, 0, 1.0), (1, 20, 1.0), (2, 0, 0.7)):
        for texts in (TEXTS[:1], TEXTS):
            ref = _answers(tiny, texts, 2, 25, "hf", True, seed, top_k, temperature)
            assert torch.equal(ref, _answers(tiny, texts, 2, 25, fast, True, seed, top_k, temperature))


def test_esmoe_mixed_experts_and_injection_without_a_fold(monkeypatch, no_torch_loop, fast):
    model = _esmoe_with_live_experts()
    texts = [t for v in SCENARIOS.values() for t in v] + ["Someone waves and walks away."]
    folds = []
    real_merged = ExpertBank.merged
    monkeypatch.setattr(ExpertBank, "merged", lambda self, w: folds.append(1) or real_merged(self, w))
    for kwargs in ({}, {"greedy": False, "seed": 3}):
        for lengths in (6, None):
            ref = _codes(model.generate(texts, lengths, decoder="hf", **kwargs))
            folds.clear()
            assert _codes(model.generate(texts, lengths, decoder=fast, **kwargs)) == ref
            for t in texts:  # batch 1: hf folds the experts; numpy reads their low-rank factors
                ref = _codes(model.generate([t], lengths, decoder="hf", **kwargs))
                folds.clear()
                assert _codes(model.generate([t], lengths, decoder=fast, **kwargs)) == ref
                assert not folds
    for name in model.bank.names:  # one expert forced
        assert _codes(model.generate(texts, 6, expert=name, decoder=fast)) == _codes(model.generate(texts, 6, expert=name, decoder="hf"))
    injected = _codes(model.generate(texts, 6, decoder=fast))
    with torch.no_grad():
        for p in model.inject.parameters():
            p.zero_()
    assert _codes(model.generate(texts, 6, decoder=fast)) != injected  # the <som> injection reaches it


@pytest.mark.parametrize("name", ["SeqLoRA", "O-LoRA"])
def test_baselines_generate_the_same_tokens(name, fast):
    learner = _live_baseline(name)
    texts = [t for v in SCENARIOS.values() for t in v]
    for kwargs in ({}, {"greedy": False, "seed": 1}):
        assert _codes(learner.generate(texts, None, decoder=fast, **kwargs)) == \
            _codes(learner.generate(texts, None, decoder="hf", **kwargs))


def test_what_it_cannot_run_is_named_and_served_by_the_torch_loop(tiny):
    b = _lively(backbone())
    learner = BASELINES["SeqLoRA"](b, config(), EMOTIONS)
    learner.begin_scenario("greeting", samples("greeting"))
    v = b.vocab
    dec = StaticDecoder(learner.bank.model, v.first_id, v.codebook_size, v.end_id)  # peft's own LoRA forward
    assert "neither a plain linear nor an expert mix" in numpy_unsupported(dec, 1)
    assert numpy_unsupported(StaticDecoder(tiny.model, v.first_id, v.codebook_size, v.end_id), 1) is None


def test_cached_weight_stacks_follow_in_place_changes_and_never_serve_another_tensor(fast):
    """The stacked q/k/v and gate/up copies and ES-MoE's frozen-expert stacks are cached between requests; a
    weight changed in place (an optimizer step, ``copy_``) must be read again, and a different tensor with the
    same values must not be served another's copy."""
    import numpy as np

    from policies.backbone.decode_numpy import _Proj, _stacked

    a, b = torch.randn(4, 3), torch.randn(2, 3)
    first = _stacked([_Proj(a.numpy(), source=a), _Proj(b.numpy(), source=b)])
    assert _stacked([_Proj(a.numpy(), source=a), _Proj(b.numpy(), source=b)]) is first  # served from the cache
    with torch.no_grad():
        b.add_(1.0)  # in place: version bumped
    again = _stacked([_Proj(a.numpy(), source=a), _Proj(b.numpy(), source=b)])
    assert again is not first and np.array_equal(again, np.concatenate([a.numpy(), b.numpy()]))
    c = b.clone()  # the same values, another tensor
    assert _stacked([_Proj(a.numpy(), source=a), _Proj(c.numpy(), source=c)]) is not again

    model = _esmoe_with_live_experts()
    texts = [t for v in SCENARIOS.values() for t in v]
    before = _codes(model.generate(texts, 6, decoder=fast))
    frozen = [n for n in model.bank.names if n not in model.bank.trainable]
    assert frozen, "the test needs a frozen expert"
    with torch.no_grad():
        for p in model.bank.parameters_of(frozen[0]):
            p.mul_(-3.0)
    changed = _codes(model.generate(texts, 6, decoder=fast))
    assert changed == _codes(model.generate(texts, 6, decoder="hf")) and changed != before
    # the stacks cached while generating (inference mode) must serve training next (the runtime's learner scores,
    # then trains, then scores on the same layers): a training step after generation runs and has gradients
    from policies.esmoe.trainer import train_on

    scenario = model.bank.names[-1]
    train_on(model, samples(scenario, 8), dataclasses.replace(model.config.train, batch=4), steps=1, progress=False)


def test_the_compiled_steps_weights_follow_in_place_changes(tiny):
    """The compiled step keeps transposed, stacked copies of the base weights between requests; a weight changed
    in place (an optimizer step, a fold) must be read again."""
    before = _answers(tiny, TEXTS, 2, 20, "jit")
    with torch.no_grad():
        tiny.model.model.layers[1].mlp.up_proj.weight.mul_(-2.0)
    try:
        after = _answers(tiny, TEXTS, 2, 20, "jit")
        assert torch.equal(after, _answers(tiny, TEXTS, 2, 20, "hf")) and not torch.equal(after, before)
    finally:
        with torch.no_grad():
            tiny.model.model.layers[1].mlp.up_proj.weight.div_(-2.0)


def test_the_warm_up_compiles_what_a_request_runs(tiny):
    """The generator compiles the step and the greedy loop at start (decode_jit.warm_up): a request afterwards
    must find its signatures compiled, not compile another in the middle of an interaction."""
    from policies.backbone.decode_jit import _forward, _greedy, warm_up

    warm_up()
    before = [list(_forward.signatures), list(_greedy.signatures)]
    _answers(tiny, TEXTS, 2, 8, "jit")
    model = _esmoe_with_live_experts()  # with experts mixed: low-rank factors in every projection
    model.generate(TEXTS[:1], 8, decoder="jit")
    model.generate(TEXTS, 8, decoder="jit")
    model.generate(TEXTS, 8, decoder="jit", greedy=False, seed=1)
    assert all(before) and [list(_forward.signatures), list(_greedy.signatures)] == before


def test_greedy_decoding_under_esmoe_runs_the_compiled_loop(monkeypatch):
    """ES-MoE's CGED hook acts on <som> only, so the whole greedy loop (not only the step) runs compiled, batch 1
    and padded batches, fixed and free lengths, with the same tokens as Hugging Face."""
    from policies.backbone.decode_jit import JitDecoder

    model = _esmoe_with_live_experts()
    lengths = []
    real = JitDecoder.greedy_loop
    monkeypatch.setattr(JitDecoder, "greedy_loop", lambda self, *a: (lambda n: lengths.append(n) or n)(real(self, *a)))
    texts = [t for v in SCENARIOS.values() for t in v]
    for n in (6, None):
        assert _codes(model.generate(texts, n, decoder="jit")) == _codes(model.generate(texts, n, decoder="hf"))
        assert _codes(model.generate(texts[:1], n, decoder="jit")) == _codes(model.generate(texts[:1], n, decoder="hf"))
    assert len(lengths) == 4 and None not in lengths


def test_the_compiled_products_are_numpys_own():
    """Compiled matrix-matrix products call NumPy's bundled OpenBLAS (its address passed at run time, never
    cached): the same bits as NumPy's ``@``; without it, or for one row, Numba's np.dot."""
    import numpy as np

    from policies.backbone.decode_jit import _BLAS, _mm

    if not _BLAS:
        pytest.skip("NumPy's bundled scipy-openblas64 not found here: the compiled code uses Numba's np.dot")
    rng = np.random.default_rng(0)
    for m, k, n in ((800, 192, 1024), (32, 192, 384), (3, 16, 5), (1, 192, 512)):
        a, w = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
        got = _mm(a, w, _BLAS)
        assert got.shape == (m, n) and (np.array_equal(got, a @ w) if m > 1 else np.allclose(got, a @ w, atol=1e-4))
        assert np.allclose(_mm(a, w, 0), a @ w, atol=1e-3)


def test_a_fold_of_the_experts_is_never_served_from_the_decoders_caches(fast):
    """``ExpertBank.merged`` folds experts into the base weights through ``.data`` (no version bump by itself) and
    restores them; the NumPy and compiled decoders cache arrays derived from those weights by version. A request
    decoded inside a fold, then one outside it, must each see the weights of its moment."""
    from policies.backbone.generate import generate_codes

    model = _esmoe_with_live_experts()
    texts = [t for v in SCENARIOS.values() for t in v]
    model.train_mode(False)
    name = model.bank.names[0]
    inside = _codes(generate_codes(model.backbone, texts, 6, decoder=fast,  # model._decoder unset: the fold path
                                   condition=lambda rows: model.condition([texts[i] for i in rows], force_expert=name)))
    assert inside == _codes(generate_codes(model.backbone, texts, 6, decoder="hf", condition=lambda rows: model.condition(
        [texts[i] for i in rows], force_expert=name)))
    assert _codes(model.generate(texts, 6, decoder=fast)) == _codes(model.generate(texts, 6, decoder="hf"))


def test_the_compiled_exp_is_within_a_few_ulp_of_numpys():
    """SiLU and the softmax take exp from a vectorized polynomial (decode_jit._exp_inplace), not libm's: within
    5 ulp of float64's exp over the whole float32 range it covers (4.5 measured), finite and clamped beyond."""
    import numpy as np

    pytest.importorskip("numba", reason="numba is not installed: the NumPy decoder serves")
    from policies.backbone.decode_jit import _exp_inplace
    x = np.concatenate([np.linspace(-87, 88, 1_000_001), [0.0, -1e30, -200.0, -88.0, 89.0, 1e30]]).astype(np.float32)
    got = x.copy()
    _exp_inplace(got, np.empty(len(x), np.int32))
    ref = np.exp(np.clip(x, -87, 88).astype(np.float64))
    ulp = np.spacing(ref.astype(np.float32)).astype(np.float64)
    assert np.isfinite(got).all()
    assert float(np.max(np.abs(got - ref) / ulp)) <= 5.0
    assert got[x == 0][0] == 1.0
