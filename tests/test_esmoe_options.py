"""ES-MoE training options: bf16 autocast, CGED reading the frozen backbone's hidden states."""
import dataclasses

import torch

from policies.esmoe import ESMoE
from policies.esmoe.trainer import train_on
from test_esmoe import EMOTIONS, SCENARIOS, backbone, config, samples


def _grads_of_one_step(model, settings, seed: int = 0) -> dict[str, torch.Tensor]:
    """The trainable parameters' gradients after one train_on step (lr 0: the weights stay where they are)."""
    torch.manual_seed(seed)
    train_on(model, samples("locomotion"), dataclasses.replace(settings, lr=0.0, warmup=1), steps=1, seed=seed,
             progress=False)
    return {n: p.grad.detach().clone() for n, p in model.bank.model.named_parameters() if p.grad is not None}


def test_bf16_autocast_trains_the_same_parameters_in_the_same_direction():
    torch.manual_seed(0)
    cfg = config()
    model = ESMoE(backbone(), cfg, EMOTIONS)
    model.begin_scenario("greeting", samples("greeting"))
    train_on(model, samples("greeting"), cfg.train, progress=False)
    model.end_scenario()
    model.begin_scenario("locomotion", samples("locomotion"))
    plain = _grads_of_one_step(model, cfg.train)  # precision auto: fp32 on the CPU
    bf16 = _grads_of_one_step(model, dataclasses.replace(cfg.train, precision="bf16"))
    assert plain and set(bf16) == set(plain) and all(torch.isfinite(g).all() for g in bf16.values())
    assert any(not torch.equal(bf16[n], plain[n]) for n in plain)  # autocast did run
    cos = [torch.nn.functional.cosine_similarity(bf16[n].flatten(), plain[n].flatten(), dim=0) for n in plain
           if plain[n].norm() > 1e-6]
    assert float(torch.stack(cos).mean()) > 0.9  # bf16 rounds, it does not change what is learned


def test_cged_can_read_the_frozen_backbones_hidden_states_and_experts_do_not_change_them():
    torch.manual_seed(0)
    cfg = config()
    cfg = dataclasses.replace(cfg, cged=dataclasses.replace(cfg.cged, input="hidden"))
    model = ESMoE(backbone(), cfg, EMOTIONS)
    texts = SCENARIOS["greeting"]
    x, mask = model.describe(texts)
    ids, _ = model.tokens(texts)
    before = model.cged_input(ids, x, mask)
    assert before.shape == x.shape and not torch.allclose(before, x)  # not the static embeddings
    for sc in SCENARIOS:  # two trained experts (their LoRA factors are non-zero now)
        model.begin_scenario(sc, samples(sc))
        train_on(model, samples(sc), cfg.train, progress=False)
        model.end_scenario()
    assert any(p.abs().sum() > 0 for n, p in model.bank.model.named_parameters() if "lora_B" in n)
    model.train_mode(False)
    model.bank.model.eval()
    assert torch.allclose(model.cged_input(ids, x, mask), before, atol=1e-6)  # the frozen base's view, no expert
    q, h = model.represent(texts)
    assert h.shape == (3, cfg.cged.dim) and torch.isfinite(q).all()
    assert model.generate(texts[:1], 4)[0].codes is not None
