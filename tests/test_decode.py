"""The static-cache decoder (policies/backbone/decode.py) against transformers' generate, the reference:
the same tokens greedy and sampled, batch 1 and batched with padding, with ES-MoE's merged and mixed
experts and CGED injection, and with the baselines' adapters."""
import dataclasses

import numpy as np
import pytest
import torch

from policies.backbone import generate_codes, load_backbone
from policies.backbone.decode import StaticDecoder, _Chooser, plain_linear, static_unsupported
from policies.backbone.decode_graph import fixed_shape_loop
from policies.backbone.generate import decode_answers
from policies.backbone.loader import format_prompt
from policies.baselines import BASELINES
from policies.esmoe import ESMoE
from test_esmoe import EMOTIONS, SCENARIOS, backbone, config, samples

TEXTS = ["A happy person waves both hands energetically.", "A tired man walks slowly forward, head low.",
         "Someone proudly raises the right hand.", "An angry figure kicks hard.", "A sad woman bows deeply.",
         "Bow.", "A calm dancer spins twice and then stops to bow to the crowd.", "Run!",
         "The old man sits down slowly.", "A child jumps for joy, arms up.", "Someone stumbles, then walks on.",
         "A nervous person paces back and forth."]


def _answers(b, texts, lo, hi, decoder, sample=False, seed=0, top_k=0, temperature=1.0):
    tok = b.tokenizer
    tok.padding_side = "left"
    batch = tok([format_prompt(b, t) for t in texts], return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(seed)
    with torch.inference_mode():
        return decode_answers(b, batch["input_ids"], batch["attention_mask"], lo, hi, sample, temperature, top_k, decoder)


def _lively(b, scale: float = 0.1):
    """Weights 5x the default init: at std 0.02 a random backbone repeats two or three tokens whatever the
    prompt, and a decoder with RoPE or positions wrong gave the same answers (checked); at 0.1 it uses
    hundreds and either mistake changes 70-95 % of them."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in b.model.parameters():
            if p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) * scale)
    return b


@pytest.fixture(scope="module")
def tiny():
    """The default tiny backbone (grouped-query attention), lively, its end marker given the LM-head row of
    the token it picks most, a little longer: free-length rows then end at different steps."""
    b = _lively(load_backbone("tiny", 512, TEXTS))
    b.model.eval()
    common = torch.mode(_answers(b, TEXTS, 30, 30, "hf")[:, :-1].flatten()).values.item()
    with torch.no_grad():
        b.model.lm_head.weight[b.vocab.end_id] = b.model.lm_head.weight[common] * 1.02
    return b


def test_greedy_tokens_equal_generate_over_many_prompts_batch_1_and_batched(tiny):
    ends = set()
    for lo, hi in ((20, 20), (2, 30)):
        for text in TEXTS:
            ref, fast = _answers(tiny, [text], lo, hi, "hf"), _answers(tiny, [text], lo, hi, "static")
            assert torch.equal(ref, fast), (text, lo, hi)
        ref, fast = _answers(tiny, TEXTS, lo, hi, "hf"), _answers(tiny, TEXTS, lo, hi, "static")
        assert torch.equal(ref, fast), (lo, hi)
        ends |= set((ref == tiny.vocab.end_id).int().argmax(1).tolist())
    assert len(ends) >= 3  # rows ended at different steps: padding after an end and early stops were exercised
    assert len(set(map(len, (tiny.tokenizer(t)["input_ids"] for t in TEXTS)))) > 3  # and prompts were padded


def test_sampled_tokens_equal_generate_draw_for_draw(tiny):
    v = tiny.vocab
    for seed, top_k, temperature in ((0, 0, 1.0), (1, 20, 1.0), (2, 0, 0.7), (3, 5, 1.3)):
        for texts in (TEXTS[:1], TEXTS):
            ref = _answers(tiny, texts, 2, 25, "hf", True, seed, top_k, temperature)
            fast = _answers(tiny, texts, 2, 25, "static", True, seed, top_k, temperature)
            assert torch.equal(ref, fast), (seed, top_k, temperature, len(texts))
            ok = (fast == v.end_id) | (fast == tiny.tokenizer.pad_token_id) | ((fast >= v.first_id) & (fast < v.first_id + 512))
            assert bool(ok.all())
    a = _answers(tiny, TEXTS, 20, 20, "static", True, 5)
    assert torch.equal(a, _answers(tiny, TEXTS, 20, 20, "static", True, 5))  # seeded
    assert not torch.equal(a, _answers(tiny, TEXTS, 20, 20, "static", True, 6))


def test_fixed_shape_steps_of_the_cuda_graph_path_give_the_same_greedy_tokens_on_cpu(tiny):
    v = tiny.vocab
    tok = tiny.tokenizer
    for texts, (lo, hi) in ((TEXTS[:1], (20, 20)), (TEXTS, (20, 20)), (TEXTS, (2, 30))):
        batch = tok([format_prompt(tiny, t) for t in texts], return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            dec = StaticDecoder(tiny.model, v.first_id, v.codebook_size, v.end_id)
            st = dec.prefill(batch["input_ids"], batch["attention_mask"], hi, zero_cache=True)
            out = fixed_shape_loop(dec, st, _Chooser(dec, len(texts), lo, hi, False, 1.0, 0, st.h.device), tok.pad_token_id)
        assert torch.equal(out, _answers(tiny, texts, lo, hi, "hf"))


def test_the_shipped_generator_answers_the_same_with_both_decoders():
    """The trained synth-8 generator as the runtime serves it: free length (its answers end by themselves
    at 7-30 tokens), batched (mixed experts) and one by one (merged), greedy and sampled."""
    from agent.recipes.shipped import assets_root
    from policies.esmoe.store import load_generator

    path = assets_root() / "synth-8" / "generator-daily_life+sports"
    if not path.is_dir():
        pytest.skip("no assets/synth-8 in this checkout")
    model, _ = load_generator(path, 512)
    model.train_mode(False)
    acts = ["waves at a friend", "walks across the room", "jumps in place", "kicks a ball", "bows politely",
            "runs forward", "sits down on a chair", "dances a twirl"]
    texts = [f"A {e} person {a}." for e, a in zip(["happy", "sad", "angry", "tired", "proud", "anxious", "energetic",
                                                   "calm"] * 2, acts + acts[::-1])]
    ref = _codes(model.generate(texts, None, decoder="hf"))
    assert len({len(c) for c in ref}) > 3
    for decoder in ("static", "numpy", "jit"):
        assert _codes(model.generate(texts, None, decoder=decoder)) == ref, decoder
        for t in texts[:6]:
            assert _codes(model.generate([t], None, decoder=decoder)) == _codes(model.generate([t], None, decoder="hf"))
        for seed in (0, 1):
            assert _codes(model.generate(texts, None, greedy=False, seed=seed, top_k=20, decoder=decoder)) == \
                _codes(model.generate(texts, None, greedy=False, seed=seed, top_k=20, decoder="hf"))


def _esmoe_with_live_experts(scale: float = 0.05):
    """Two ES-MoE experts whose LoRA and injection weights are not the zeros they start from."""
    torch.manual_seed(0)
    cfg = config()
    model = ESMoE(_lively(backbone()), cfg, EMOTIONS)
    for sc in SCENARIOS:
        model.begin_scenario(sc, samples(sc))
        model.end_scenario()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in model.bank.model.named_parameters():
            if "lora_B" in n:
                p.copy_(torch.randn(p.shape, generator=g) * scale)
        for p in model.inject.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        for p in model.gate.parameters():  # routing that mixes both experts with varying weights
            p.add_(torch.randn(p.shape, generator=g))
    model.train_mode(False)
    model.bank.model.eval()
    return model


def _codes(gens):
    return [None if g.codes is None else g.codes.tolist() for g in gens]


def test_esmoe_merged_mixed_and_injected_generation_is_the_same_with_both_decoders():
    model = _esmoe_with_live_experts()
    texts = [t for v in SCENARIOS.values() for t in v] + ["Someone waves and walks away."]
    with torch.no_grad():
        w = model.gate_weights(model.represent(texts)[0], training=False)
    assert not bool((w == w[:1]).all()) and bool(((w > 0) & (w < 1)).any())  # batched: per-row mixing
    for kwargs in ({}, {"greedy": False, "seed": 3}, {"greedy": False, "seed": 4, "top_k": 8}):
        for lengths in (6, None):
            assert _codes(model.generate(texts, lengths, decoder="static", **kwargs)) == \
                _codes(model.generate(texts, lengths, decoder="hf", **kwargs))
            for t in texts:  # batch 1: experts merged into the base weights
                assert _codes(model.generate([t], lengths, decoder="static", **kwargs)) == \
                    _codes(model.generate([t], lengths, decoder="hf", **kwargs))
    for name in model.bank.names:  # one expert forced (one-hot weights)
        assert _codes(model.generate(texts, 6, expert=name)) == _codes(model.generate(texts, 6, expert=name, decoder="hf"))
    # the injection at <som> reaches the static decoder: without it the answers change
    injected = _codes(model.generate(texts, 6))
    with torch.no_grad():
        for p in model.inject.parameters():
            p.zero_()
    assert _codes(model.generate(texts, 6)) != injected
    assert _codes(model.generate(texts, 6)) == _codes(model.generate(texts, 6, decoder="hf"))


def _live_baseline(name: str):
    """A baseline learner on every scenario, its LoRA weights not the zeros they start from."""
    torch.manual_seed(0)
    learner = BASELINES[name](_lively(backbone()), config(), EMOTIONS)
    for sc in SCENARIOS:
        learner.begin_scenario(sc, samples(sc))
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for n, p in learner.bank.model.named_parameters():
            if "lora_" in n:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    learner.bank.model.eval()
    return learner


@pytest.mark.parametrize("name", ["SeqLoRA", "LwF-LoRA", "O-LoRA"])
def test_baselines_generate_the_same_tokens_with_both_decoders(name):
    learner = _live_baseline(name)
    texts = [t for v in SCENARIOS.values() for t in v]
    for kwargs in ({}, {"greedy": False, "seed": 1}):
        assert _codes(learner.generate(texts, None, decoder="static", **kwargs)) == \
            _codes(learner.generate(texts, None, decoder="hf", **kwargs))
        assert _codes(learner.generate(texts[:1], 7, decoder="static", **kwargs)) == \
            _codes(learner.generate(texts[:1], 7, decoder="hf", **kwargs))


def test_merged_delta_is_the_bits_of_the_sum_expression():
    model = _esmoe_with_live_experts(scale=0.3)
    bank = model.bank
    with torch.no_grad():
        for ws in ([0.3, 0.7], [0.0, 1.0], [1.0, 0.0], [-0.25, 0.5]):
            for layer in bank.lora_layers():
                ref = sum(ws[j] * layer.scaling[n] * (layer.lora_B[n].weight @ layer.lora_A[n].weight)
                          for j, n in enumerate(bank.names) if ws[j] != 0.0)
                assert torch.equal(bank._merged_delta(layer, ws).view(torch.int32), ref.view(torch.int32))
        assert all(bank._merged_delta(layer, [0.0, 0.0]) is None for layer in bank.lora_layers())


def test_plain_linear_sees_through_the_merged_bypass_only():
    model = _esmoe_with_live_experts()
    bank = model.bank
    layer = bank.lora_layers()[0]
    assert plain_linear(layer) is None  # peft's LoRA forward
    with torch.no_grad(), bank.merged(torch.tensor([0.5, 0.5])):
        assert plain_linear(layer) is layer.get_base_layer()
    with bank.mixing(torch.tensor([[0.5, 0.5]])):
        assert plain_linear(layer) is None
    lin = torch.nn.Linear(3, 3)
    assert plain_linear(lin) is lin
    handle = lin.register_forward_hook(lambda *a: None)
    assert plain_linear(lin) is None
    handle.remove()


def test_retries_and_failures_are_kept_with_the_static_decoder(monkeypatch):
    b = backbone()
    calls = []

    def no_motion(self, input_ids, attention_mask, min_tokens, max_tokens, pad_id, sample=False, *args, **kwargs):
        calls.append(sample)
        return torch.full((len(input_ids), 1), b.vocab.end_id)

    monkeypatch.setattr(StaticDecoder, "generate", no_motion)
    out = generate_codes(b, ["A man waves."], min_tokens=0, retries=2, decoder="static")
    assert out[0].codes is None and out[0].failure == "no motion tokens generated" and out[0].attempts == 3
    assert calls == [False, True, True]  # greedy first, then sampled retries
    with pytest.raises(ValueError, match="decoder"):
        generate_codes(b, ["A man waves."], decoder="fast")


def test_a_model_the_static_decoder_does_not_know_falls_back_to_generate():
    b = _lively(backbone())
    b.model.config._attn_implementation = "eager"
    assert "attention 'eager'" in static_unsupported(b.model)
    texts = SCENARIOS["greeting"]
    assert _codes(generate_codes(b, texts, 5, decoder="static")) == _codes(generate_codes(b, texts, 5, decoder="hf"))


def test_the_config_chooses_the_decoder(monkeypatch):
    from policies.backbone.decode_numpy import NumpyDecoder

    model = _esmoe_with_live_experts()
    seen = []
    for cls, name in ((StaticDecoder, "static"), (NumpyDecoder, "numpy")):
        real = cls.generate
        monkeypatch.setattr(cls, "generate", lambda self, *a, _real=real, _name=name, **k:
                            seen.append(type(self).__name__ if _name == "numpy" else _name) or _real(self, *a, **k))
    model.generate(SCENARIOS["greeting"], 4)
    assert seen == ["JitDecoder"]  # NumPy with the compiled step on the CPU by default
    for decoder, expect in (("numpy", ["NumpyDecoder"]), ("static", ["static"]), ("hf", [])):
        seen.clear()
        model.config = dataclasses.replace(model.config, decode=dataclasses.replace(model.config.decode, decoder=decoder))
        model.generate(SCENARIOS["greeting"], 4)
        assert seen == expect


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_static_decoder_and_graphs_agree_with_generate():
    model = _esmoe_with_live_experts().to("cuda")
    texts = [t for v in SCENARIOS.values() for t in v]
    ref = _codes(model.generate(texts, 8, decoder="hf"))
    assert _codes(model.generate(texts, 8, decoder="static")) == ref
    model.config = dataclasses.replace(model.config, decode=dataclasses.replace(model.config.decode, cuda_graphs=True))
    graphed = _codes(model.generate(texts, 8))
    agree = np.mean([a == b for r, s in zip(ref, graphed) for a, b in zip(r, s)])
    assert agree >= 0.9  # masked full-length attention: other rounding, rarely another token


def test_requests_beyond_the_merge_budget_are_mixed_not_folded():
    """Folding experts copies every targeted base weight (to restore it exactly): past
    decode.merge_max_elements a batch-shared request takes the low-rank mixed forward instead."""
    cfg = config()
    model = ESMoE(backbone(), dataclasses.replace(cfg, decode=dataclasses.replace(cfg.decode, merge_max_elements=0)), EMOTIONS)
    model.begin_scenario("greeting", samples("greeting"))
    model.end_scenario()
    assert model.bank.merge_copy_elements() > 0
    entered = []
    model.bank.merged = lambda w: entered.append(w)  # would fail as a context manager if called
    with torch.no_grad(), model.condition([SCENARIOS["greeting"][0]]):
        assert model.bank.weights is not None  # mixing is active
    assert not entered
