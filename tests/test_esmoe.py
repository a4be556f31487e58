import dataclasses

import numpy as np
import pytest
import torch

from policies.backbone import generate_codes, load_backbone
from policies.backbone.batch import lm_batch
from policies.backbone.corpus import TokenSample
from policies.backbone.loader import BackboneConfig, TinyConfig
from policies.baselines import BASELINES
from policies.esmoe import ESMoE, load_esmoe_config, make_ablation
from policies.esmoe.cged import CGED, kmeans
from policies.esmoe.gate import ExpertGate
from policies.esmoe.store import load_esmoe, save_esmoe
from policies.esmoe.trainer import train_on

EMOTIONS = ["neutral", "happy", "sad", "angry"]
SCENARIOS = {"greeting": ["A happy man waves.", "A sad woman bows slowly.", "Someone greets angrily."],
             "locomotion": ["A tired person walks forward.", "A happy child runs in circles.", "He walks back sadly."]}
SMALL = BackboneConfig(tiny=TinyConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                                       num_key_value_heads=1, max_position_embeddings=128))


def samples(scenario: str, n: int = 12, seed: int = 0) -> list[TokenSample]:
    rng = np.random.default_rng(seed)
    base = 0 if scenario == "greeting" else 32
    return [TokenSample(rng.integers(base, base + 32, size=6), [SCENARIOS[scenario][i % 3]], EMOTIONS[i % 4], scenario,
                        "train", f"{scenario}-{i}") for i in range(n)]


def backbone():
    texts = [t for v in SCENARIOS.values() for t in v]
    return load_backbone("tiny", 64, texts, config=SMALL, seed=0)


def config():
    c = load_esmoe_config()
    return dataclasses.replace(c, lora=dataclasses.replace(c.lora, rank=4, dropout=0.0),
                               cged=dataclasses.replace(c.cged, dim=16, dictionary_size=4, dropout=0.0),
                               train=dataclasses.replace(c.train, steps_per_scenario=5, batch=4, lr=1e-2))


def test_kmeans_and_cged_shapes():
    x = torch.cat([torch.randn(50, 8) + 5, torch.randn(50, 8) - 5])
    c = kmeans(x, 2, seed=0)
    assert sorted(c[:, 0].round().tolist()) == pytest.approx([-5, 5], abs=1.0)
    m = CGED(8, 16, 2, 4)
    with pytest.raises(RuntimeError, match="dictionary"):
        m(torch.randn(2, 3, 8), torch.ones(2, 3))
    m.fit_dictionary(x)
    h = m(torch.randn(2, 3, 8), torch.tensor([[1, 1, 0], [1, 0, 0]]))
    assert h.shape == (2, 16) and torch.isfinite(h).all()
    loss = m.emotion_loss(h, torch.tensor([1, -100]))
    assert loss.item() > 0


def test_gate_keys_orthogonal_topk_and_masking():
    g = ExpertGate(16, key_dim=8, query_rank=4, seed=0)
    for _ in range(4):
        g.add_key()
    k = torch.stack(list(g.keys))
    assert torch.allclose(k @ k.T, torch.eye(4), atol=1e-5)
    w = g(torch.randn(10, 16), top_k=2)
    assert torch.allclose(w.sum(1), torch.ones(10)) and ((w > 0).sum(1) <= 2).all()
    w = g(torch.randn(200, 16), top_k=4, mask_rate=0.9, protect=3, generator=torch.Generator().manual_seed(0))
    assert (w[:, 3] > 0).all() and (w[:, :3] == 0).float().mean() > 0.5
    with pytest.raises(ValueError, match="at most"):
        ExpertGate(16, key_dim=4, query_rank=4, max_experts=5)


def test_new_expert_leaves_old_experts_unchanged_and_checkpoint_round_trips(tmp_path):
    torch.manual_seed(0)
    cfg = config()
    model = ESMoE(backbone(), cfg, EMOTIONS)
    g = samples("greeting")
    model.begin_scenario("greeting", g)
    stats = train_on(model, g, cfg.train, progress=False)
    assert stats["samples_per_s"] > 0
    texts = SCENARIOS["greeting"]

    def forced(m):
        return [x.codes.tolist() for x in generate_codes(m.backbone, texts, length=5,
                                                           condition=lambda rows: m.condition([texts[i] for i in rows], force_expert="greeting"))]

    model.train_mode(False)
    model.backbone.model = model.bank.model
    before = forced(model)
    with torch.no_grad(), model._conditioned(model.represent(texts)[1], torch.tensor([[1.0]] * 3)):
        logits_before = model.lm_loss(texts, [np.arange(4)] * 3, torch.tensor([[1.0]] * 3), return_logits=True)[1]
    old = {n: p.detach().clone() for n, p in model.bank.model.named_parameters() if ".greeting." in n}
    model.begin_scenario("locomotion", samples("locomotion"))
    train_on(model, samples("locomotion"), cfg.train, progress=False)
    model.train_mode(False)
    assert all(torch.equal(old[n], p) for n, p in model.bank.model.named_parameters() if n in old)
    assert forced(model) == before  # gate forced to the old expert: identical generation
    with torch.no_grad():
        w = torch.tensor([[1.0, 0.0]] * 3)
        h = model.represent(texts)[1]
        with model._conditioned(h, w):
            logits_after = model.lm_loss(texts, [np.arange(4)] * 3, w, return_logits=True)[1]
    assert torch.allclose(logits_before, logits_after, atol=1e-6)
    gen = [x.codes.tolist() for x in model.generate(texts, 5)]
    path = save_esmoe(model, tmp_path / "esmoe")
    assert (path / "greeting" / "adapter_model.safetensors").is_file() and (path / "locomotion" / "adapter_config.json").is_file()
    loaded = load_esmoe(path, _fresh_like(model))
    assert loaded.bank.names == ["greeting", "locomotion"]
    assert [x.codes.tolist() for x in loaded.generate(texts, 5)] == gen


def _fresh_like(model):
    torch.manual_seed(0)
    b = backbone()
    b.model.load_state_dict({k.replace("base_model.model.", ""): v for k, v in model.bank.model.state_dict().items()
                             if "lora_" not in k}, strict=False)
    return b


def test_an_expert_is_at_most_3_percent_of_the_default_tiny_backbone():
    texts = [t for v in SCENARIOS.values() for t in v]
    b = load_backbone("tiny", 512, texts)  # the configured sizes, codebook 512
    total = b.num_parameters
    model = ESMoE(b, load_esmoe_config(), EMOTIONS)
    model.begin_scenario("greeting", samples("greeting"))
    assert 0 < model.expert_parameters() <= 0.03 * total  # LoRA + injection projection + key


def test_half_written_checkpoint_is_refused(tmp_path):
    (tmp_path / "x.tmp").mkdir()
    with pytest.raises(FileNotFoundError, match="manifest"):
        load_esmoe(tmp_path / "x.tmp", backbone())


@pytest.mark.parametrize("name", ["SeqLoRA", "LwF-LoRA", "O-LoRA", "MTL"])
def test_baselines_train_two_scenarios(name):
    cfg = config()
    learner = BASELINES[name](backbone(), cfg, EMOTIONS)
    for sc in SCENARIOS:
        learner.begin_scenario(sc, samples(sc))
        train_on(learner, samples(sc), cfg.train, progress=False)
    out = learner.generate(SCENARIOS["greeting"], 4)
    assert all(len(g.codes) == 4 for g in out)
    if name == "O-LoRA":
        assert learner.bank.names == ["greeting", "locomotion"]
        assert not any(p.requires_grad for p in learner.bank.parameters_of("greeting"))


@pytest.mark.parametrize("kind", ["w/o CGED", "w/o SAMoE", "w/o L_emo"])
def test_ablations_run(kind):
    cfg = config()
    learner = make_ablation(kind)(backbone(), cfg, EMOTIONS)
    for sc in SCENARIOS:
        learner.begin_scenario(sc, samples(sc))
        info = train_on(learner, samples(sc), cfg.train, progress=False)
        assert np.isfinite(info["final_llm_loss"])
    assert len(learner.bank.names) == (1 if kind == "w/o SAMoE" else 2)
    assert all(len(g.codes) == 3 for g in learner.generate(SCENARIOS["locomotion"], 3))


def test_empty_generation_is_retried_then_recorded(monkeypatch):
    b = backbone()
    calls = []

    def no_motion(**kwargs):
        calls.append(kwargs.get("do_sample"))
        ids = kwargs["input_ids"]
        return torch.cat([ids, torch.full((len(ids), 1), b.vocab.end_id)], 1)

    monkeypatch.setattr(b.model, "generate", no_motion)
    out = generate_codes(b, ["A man waves."], min_tokens=0, retries=2, decoder="hf")  # static: tests/test_decode.py
    assert out[0].codes is None and out[0].failure == "no motion tokens generated" and out[0].attempts == 3
    assert calls == [False, True, True]  # greedy first, then sampled retries


def test_merged_fast_path_matches_per_sample_mixing_and_keeps_grads():
    torch.manual_seed(0)
    cfg = config()
    model = ESMoE(backbone(), cfg, EMOTIONS)
    for sc in SCENARIOS:
        model.begin_scenario(sc, samples(sc))
        train_on(model, samples(sc), cfg.train, progress=False)
        model.end_scenario()
    model.train_mode(False)
    model.bank.model.eval()
    text = [SCENARIOS["greeting"][0]]
    grads = {n for n, p in model.bank.model.named_parameters() if p.requires_grad}
    weights_before = {n: p.detach().clone() for n, p in model.bank.model.named_parameters() if "base_layer" in n}
    with torch.no_grad():
        q, h = model.represent(text)
        w = torch.tensor([[0.3, 0.7]])
        with model._conditioned(h, w, merge=False):
            slow = model.lm_loss(text, [np.arange(5)], w, return_logits=True)[1]
        with model._conditioned(h, w, merge=True):
            fast = model.bank.model(**lm_batch(model.backbone, text, [np.arange(5)])).logits
    assert torch.allclose(slow, fast, atol=1e-4)
    assert {n for n, p in model.bank.model.named_parameters() if p.requires_grad} == grads  # old experts stay frozen
    assert all(torch.equal(weights_before[n], p) for n, p in model.bank.model.named_parameters() if n in weights_before)


def test_mixed_forward_matches_peft_forward_with_scaled_outputs_in_values_and_grads():
    """The mixing fast path (weights on the rank-r activations, frozen experts stacked) computes what
    peft's own forward computes when each adapter's output is scaled by its per-sequence weight."""
    torch.manual_seed(0)
    cfg = config()
    model = ESMoE(backbone(), cfg, EMOTIONS)
    first, second = list(SCENARIOS)
    model.begin_scenario(first, samples(first))
    train_on(model, samples(first), cfg.train, progress=False)
    model.end_scenario()
    model.begin_scenario(second, samples(second))
    train_on(model, samples(second), dataclasses.replace(cfg.train, steps_per_scenario=5), progress=False)
    bank = model.bank
    bank.model.eval()  # no dropout: both paths must see the same inputs
    texts = SCENARIOS[first][:2] + SCENARIOS[second][:1]
    batch = lm_batch(model.backbone, texts, [np.arange(5), np.arange(3, 9), np.arange(2, 6)])
    w = torch.tensor([[0.3, 0.7], [1.0, 0.0], [0.0, 1.0]])
    trained = [p for p in bank.model.parameters() if p.requires_grad]
    assert trained and bank.trainable == {second}

    def run(fast: bool):
        for p in trained:
            p.grad = None
        if fast:
            with bank.mixing(w):
                assert any("forward" in layer.__dict__ for layer in bank.lora_layers())
                out = bank.model(**batch)
        else:
            bank.weights = w  # peft's forward, each lora_B output scaled by the hook
            try:
                out = bank.model(**batch)
            finally:
                bank.weights = None
        out.loss.backward()
        return out.logits.detach(), [p.grad.clone() for p in trained]

    ref_logits, ref_grads = run(fast=False)
    logits, grads = run(fast=True)
    assert not any("forward" in layer.__dict__ for layer in bank.lora_layers())  # peft's forward is back
    assert torch.allclose(logits, ref_logits, atol=1e-5)
    assert all(torch.allclose(g, r, atol=1e-6, rtol=1e-4) for g, r in zip(grads, ref_grads))
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_prototype_routing_is_one_hot_and_sends_each_scenario_to_its_expert(tmp_path):
    from policies.esmoe.model import PrototypeRoutedESMoE

    torch.manual_seed(0)
    cfg = config()
    model = PrototypeRoutedESMoE(backbone(), cfg, EMOTIONS)
    for sc in SCENARIOS:
        s = samples(sc)
        model.begin_scenario(sc, s)
        train_on(model, s, cfg.train, progress=False)
        model.end_scenario()
    assert model.config.gate.inference == "prototype" and len(model.prototypes) == 2
    for sc, texts in SCENARIOS.items():
        assert model.route(texts) == [sc] * len(texts)  # the centroids were fitted on exactly these descriptions
    w = model.gate_weights(model.represent(SCENARIOS["greeting"])[0], training=False)
    assert torch.equal(w.sum(1), torch.ones(3)) and ((w == 0) | (w == 1)).all()
    loaded = load_esmoe(save_esmoe(model, tmp_path / "p"), _fresh_like(model))  # the choice travels in the manifest
    assert loaded.config.gate.inference == "prototype"
    with pytest.raises(ValueError, match="gate.inference"):
        dataclasses.replace(cfg.gate, inference="nearest")


def test_content_prototypes_keep_every_description_and_ignore_the_emotion_part():
    from policies.esmoe.model import PrototypeRoutedESMoE

    torch.manual_seed(0)
    cfg = config()
    cfg = dataclasses.replace(cfg, gate=dataclasses.replace(cfg.gate, prototypes=0, prototype_input="content"))
    model = PrototypeRoutedESMoE(backbone(), cfg, EMOTIONS)
    for sc in SCENARIOS:
        s = samples(sc)
        model.begin_scenario(sc, s)
        train_on(model, s, cfg.train, steps=2, progress=False)
        model.end_scenario()
        assert len(model.prototypes[-1]) == sum(len(x.texts) for x in s)  # no K-means: every description kept
    q = torch.cat([model.represent(texts)[0] for texts in SCENARIOS.values()])
    noisy = q.clone()
    noisy[:, -model.cged.dim:] += 100 * torch.randn(len(q), model.cged.dim)  # h (emotion) changes, content does not
    assert torch.equal(model.prototype_weights(q), model.prototype_weights(noisy))
    with pytest.raises(ValueError, match="prototype_input"):
        dataclasses.replace(cfg.gate, prototype_input="h")


def test_only_the_learning_expert_uses_lora_dropout():
    from torch import nn

    from policies.esmoe.dropout import ByteDropout

    cfg = config()
    cfg = dataclasses.replace(cfg, lora=dataclasses.replace(cfg.lora, dropout=0.05))
    model = ESMoE(backbone(), cfg, EMOTIONS)
    first, second = list(SCENARIOS)[:2]
    model.begin_scenario(first, samples(first))
    layers = model.bank.lora_layers()
    assert all(isinstance(l.lora_dropout[first], ByteDropout) for l in layers)
    model.end_scenario()
    model.begin_scenario(second, samples(second))
    # a frozen expert computes in training exactly what it computes at inference
    assert all(isinstance(l.lora_dropout[first], nn.Identity) for l in layers)
    assert all(isinstance(l.lora_dropout[second], ByteDropout) and l.lora_dropout[second].p == cfg.lora.dropout for l in layers)


def test_byte_dropout_drops_at_rate_p_scales_the_rest_and_repeats_under_a_seed():
    from policies.esmoe.dropout import ByteDropout

    drop = ByteDropout(0.05).train()
    x = torch.ones(64, 50, 200, requires_grad=True)
    torch.manual_seed(3)
    y = drop(x)
    dropped = float((y == 0).float().mean())
    assert abs(dropped - 0.05) < 0.003  # 640k draws: sd 0.0003
    assert torch.allclose(y[y != 0], torch.tensor(1 / 0.95), atol=1e-5)  # inverted dropout keeps the mean
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # d(x * mask)/dx = mask
    torch.manual_seed(3)
    assert torch.equal(drop(x), y)  # seeded by torch's generator
    assert not torch.equal(drop(x), y)  # and a fresh mask each call
    assert torch.equal(drop.eval()(x), x)
    with pytest.raises(ValueError, match="dropout probability"):
        ByteDropout(1.0)


def test_answer_loss_equals_the_causal_lm_loss_in_value_and_gradient():
    from policies.backbone.batch import answer_loss

    b = backbone()
    texts = ["a person waves happily", "someone bows slowly and sadly with a long description"]
    codes = [np.arange(7) % 16, np.arange(3) % 16]
    batch = lm_batch(b, texts, codes)
    ref = b.model(**batch).loss
    ref.backward()
    ref_grads = [p.grad.clone() for p in b.model.parameters()]
    b.model.zero_grad()
    loss = answer_loss(b.model, batch)
    loss.backward()
    assert torch.allclose(loss, ref, atol=1e-6)
    assert all(torch.allclose(p.grad, g, atol=1e-6) for p, g in zip(b.model.parameters(), ref_grads))


def test_pick_device_prefers_cuda_unless_l2emg_device_says_otherwise(monkeypatch):
    from policies.torch_utils import pick_device

    monkeypatch.delenv("L2EMG_DEVICE", raising=False)
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setenv("L2EMG_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    if not torch.cuda.is_available():
        monkeypatch.setenv("L2EMG_DEVICE", "cuda")
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            pick_device()


def _two_scenarios_on(device: str):
    torch.manual_seed(0)
    cfg = config()
    cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, precision="fp32"))  # not auto's bf16 on CUDA
    model = ESMoE(backbone(), cfg, EMOTIONS).to(device)
    losses = []
    for sc in SCENARIOS:
        model.begin_scenario(sc, samples(sc))
        losses.append(train_on(model, samples(sc), cfg.train, progress=False)["final_llm_loss"])
        model.end_scenario()
    model.train_mode(False)
    model.bank.model.eval()
    return model, losses


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_esmoe_trains_routes_generates_and_reloads_on_cuda_as_on_cpu(tmp_path):
    cpu, cpu_losses = _two_scenarios_on("cpu")
    gpu, gpu_losses = _two_scenarios_on("cuda")
    parts = [gpu.bank.model, gpu.cged, gpu.gate, gpu.inject]
    assert all(t.device.type == "cuda" for m in parts for t in [*m.parameters(), *m.buffers()])
    assert all(p.device.type == "cuda" for p in gpu.prototypes)
    assert gpu_losses == pytest.approx(cpu_losses, abs=5e-3)  # same seeds and masks, only float rounding differs
    texts = [t for v in SCENARIOS.values() for t in v]
    codes = [np.arange(5)] * len(texts)
    with torch.no_grad():
        losses = []
        for m in (cpu, gpu):  # per-row expert weights: the mixing path with the stacked frozen expert
            q, h = m.represent(texts)
            w = m.gate_weights(q, training=False)
            with m._conditioned(h, w):
                losses.append(m.lm_loss(texts, codes, w).item())
    assert losses[1] == pytest.approx(losses[0], abs=1e-4)
    assert gpu.route(texts) == cpu.route(texts)
    gen = [g.codes.tolist() for g in gpu.generate(texts, 5)] + [gpu.generate(texts[:1], 5)[0].codes.tolist()]  # mixed, merged
    loaded = load_esmoe(save_esmoe(gpu, tmp_path / "gpu"), _fresh_like(gpu), device="cuda")
    assert loaded.device.type == "cuda" and all(p.device.type == "cuda" for p in loaded.prototypes)
    assert [g.codes.tolist() for g in loaded.generate(texts, 5)] + [loaded.generate(texts[:1], 5)[0].codes.tolist()] == gen

