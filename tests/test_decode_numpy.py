"""The NumPy decoder (policies/backbone/decode_numpy.py) against transformers' generate: the same tokens
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


@pytest.fixture
def no_torch_loop(monkeypatch):
    """Fail if the torch static loop runs: the NumPy decoder must have taken the request."""
    def refuse(self, *a, **k):
        raise AssertionError("the torch static decoder ran: the NumPy decoder fell back")
    monkeypatch.setattr(StaticDecoder, "generate", refuse)


def test_greedy_tokens_equal_generate_batch_1_and_batched(tiny, no_torch_loop):
    for lo, hi in ((20, 20), (2, 30)):
        for text in TEXTS:
            assert torch.equal(_answers(tiny, [text], lo, hi, "hf"), _answers(tiny, [text], lo, hi, "numpy")), (text, lo, hi)
        assert torch.equal(_answers(tiny, TEXTS, lo, hi, "hf"), _answers(tiny, TEXTS, lo, hi, "numpy")), (lo, hi)


def test_sampled_tokens_equal_generate_draw_for_draw(tiny, no_torch_loop):
    for seed, top_k, temperature in ((0, 0, 1.0), (1, 20, 1.0), (2, 0, 0.7)):
        for texts in (TEXTS[:1], TEXTS):
            ref = _answers(tiny, texts, 2, 25, "hf", True, seed, top_k, temperature)
            assert torch.equal(ref, _answers(tiny, texts, 2, 25, "numpy", True, seed, top_k, temperature))


def test_esmoe_mixed_experts_and_injection_without_a_fold(monkeypatch, no_torch_loop):
    model = _esmoe_with_live_experts()
    texts = [t for v in SCENARIOS.values() for t in v] + ["Someone waves and walks away."]
    folds = []
    real_merged = ExpertBank.merged
    monkeypatch.setattr(ExpertBank, "merged", lambda self, w: folds.append(1) or real_merged(self, w))
    for kwargs in ({}, {"greedy": False, "seed": 3}):
        for lengths in (6, None):
            ref = _codes(model.generate(texts, lengths, decoder="hf", **kwargs))
            folds.clear()
            assert _codes(model.generate(texts, lengths, decoder="numpy", **kwargs)) == ref
            for t in texts:  # batch 1: hf folds the experts; numpy reads their low-rank factors
                ref = _codes(model.generate([t], lengths, decoder="hf", **kwargs))
                folds.clear()
                assert _codes(model.generate([t], lengths, decoder="numpy", **kwargs)) == ref
                assert not folds
    for name in model.bank.names:  # one expert forced
        assert _codes(model.generate(texts, 6, expert=name, decoder="numpy")) == _codes(model.generate(texts, 6, expert=name, decoder="hf"))
    injected = _codes(model.generate(texts, 6, decoder="numpy"))
    with torch.no_grad():
        for p in model.inject.parameters():
            p.zero_()
    assert _codes(model.generate(texts, 6, decoder="numpy")) != injected  # the <som> injection reaches it


@pytest.mark.parametrize("name", ["SeqLoRA", "O-LoRA"])
def test_baselines_generate_the_same_tokens(name):
    learner = _live_baseline(name)
    texts = [t for v in SCENARIOS.values() for t in v]
    for kwargs in ({}, {"greedy": False, "seed": 1}):
        assert _codes(learner.generate(texts, None, decoder="numpy", **kwargs)) == \
            _codes(learner.generate(texts, None, decoder="hf", **kwargs))


def test_what_it_cannot_run_is_named_and_served_by_the_torch_loop(tiny):
    b = _lively(backbone())
    learner = BASELINES["SeqLoRA"](b, config(), EMOTIONS)
    learner.begin_scenario("greeting", samples("greeting"))
    v = b.vocab
    dec = StaticDecoder(learner.bank.model, v.first_id, v.codebook_size, v.end_id)  # peft's own LoRA forward
    assert "neither a plain linear nor an expert mix" in numpy_unsupported(dec, 1)
    assert numpy_unsupported(StaticDecoder(tiny.model, v.first_id, v.codebook_size, v.end_id), 1) is None


def test_cached_weight_stacks_follow_in_place_changes_and_never_serve_another_tensor():
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
    before = _codes(model.generate(texts, 6, decoder="numpy"))
    frozen = [n for n in model.bank.names if n not in model.bank.trainable]
    assert frozen, "the test needs a frozen expert"
    with torch.no_grad():
        for p in model.bank.parameters_of(frozen[0]):
            p.mul_(-3.0)
    changed = _codes(model.generate(texts, 6, decoder="numpy"))
    assert changed == _codes(model.generate(texts, 6, decoder="hf")) and changed != before
    # the stacks cached while generating (inference mode) must serve training next (the runtime's learner scores,
    # then trains, then scores on the same layers): a training step after generation runs and has gradients
    from policies.esmoe.trainer import train_on

    scenario = model.bank.names[-1]
    train_on(model, samples(scenario, 8), dataclasses.replace(model.config.train, batch=4), steps=1, progress=False)
