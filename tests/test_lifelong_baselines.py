"""EPI, SAPT and Prog-Prompt on the learner interface: they train, generate, and treat earlier scenarios'
parameters as their papers say (EPI/Prog-Prompt: bit-identical after a new scenario; SAPT: selection
weights that sum to 1 and an attentive-reflection term once a scenario is finished)."""
import dataclasses

import numpy as np
import pytest
import torch

from policies.baselines import EPI, SAPT, BASELINES, OLoRA, ProgPrompt
from policies.esmoe.trainer import learn_scenario
from tests.test_esmoe import EMOTIONS, SCENARIOS, backbone, config, samples


def learn_all(learner, cfg, scenarios=SCENARIOS):
    for sc in scenarios:
        learn_scenario(learner, sc, samples(sc), cfg.train, progress=False)


def test_epi_trains_each_adapter_alone_identifies_the_task_and_keeps_old_adapters_bit_identical():
    cfg = config()
    model = EPI(backbone(), cfg, EMOTIONS)
    learn_scenario(model, "greeting", samples("greeting"), cfg.train, progress=False)
    before = [p.detach().clone() for p in model.bank.parameters_of("greeting")]
    learn_scenario(model, "locomotion", samples("locomotion"), cfg.train, progress=False)
    after = model.bank.parameters_of("greeting")
    assert all(torch.equal(a, b) for a, b in zip(before, after)) and not any(p.requires_grad for p in after)
    assert len(model.means) == 2 and model.precision.shape == (64, 64)
    # the training descriptions of each scenario sit nearest their own task's statistics
    for sc, texts in SCENARIOS.items():
        assert model.route(texts) == [sc] * len(texts)
    out = model.generate(SCENARIOS["greeting"] + SCENARIOS["locomotion"], 4)  # a batch mixing two experts
    assert all(g.codes is not None and len(g.codes) == 4 for g in out)


def test_epi_representation_ignores_the_adapters():
    cfg = config()
    model = EPI(backbone(), cfg, EMOTIONS)
    x0 = model.represent(SCENARIOS["greeting"])  # no adapter yet: the plain backbone
    learn_all(model, cfg)
    with torch.no_grad():
        for p in model.bank.parameters_of("locomotion"):
            p.add_(0.5)  # a large adapter change must not move the frozen representation
    assert torch.allclose(model.represent(SCENARIOS["greeting"]), x0, atol=1e-5)


def test_sapt_selection_weights_sum_to_one_and_reflection_holds_old_attention():
    cfg = config()
    model = SAPT(backbone(), cfg, EMOTIONS)
    learn_scenario(model, "greeting", samples("greeting"), cfg.train, progress=False)
    assert len(model.memory) == 1 and model.records[0].tolist() == [1.0]
    assert float(model.reflection_loss()) == pytest.approx(0.0, abs=1e-6)  # one key: nothing to drift yet
    old = [p.detach().clone() for p in model.bank.parameters_of("greeting")]
    model.begin_scenario("locomotion", samples("locomotion"))
    w = model.weights(SCENARIOS["greeting"] + SCENARIOS["locomotion"])
    assert w.shape == (6, 2) and torch.allclose(w.sum(1), torch.ones(6)) and (w > 0).all()
    arm = model.reflection_loss()
    assert arm is not None and torch.isfinite(arm) and arm.requires_grad
    loss, info = model.loss(*[list(x) for x in zip(*[(s.texts[0], s.codes, s.emotion) for s in samples("locomotion")[:4]])])
    assert "arm" in info and np.isfinite(info["arm"])
    names = {id(p) for p in model.trainable_parameters()}
    assert id(model.keys[-1]) in names and id(model.keys[0]) not in names
    model.end_scenario()
    assert all(torch.equal(a, b) for a, b in zip(old, model.bank.parameters_of("greeting")))
    assert len(model.records) == 2 and model.records[1].shape == (2,)
    assert all(g.codes is not None for g in model.generate(SCENARIOS["locomotion"], 3))


def test_progprompt_prompts_concatenate_progressively_and_old_prompts_stay_bit_identical():
    cfg = config()
    cfg = dataclasses.replace(cfg, progprompt=dataclasses.replace(cfg.progprompt, prompt_length=3, mlp_bottleneck=8))
    model = ProgPrompt(backbone(), cfg, EMOTIONS)
    frozen = {n: p.detach().clone() for n, p in model.backbone.model.named_parameters()}
    learn_scenario(model, "greeting", samples("greeting"), cfg.train, progress=False)
    p1 = model.prompts[0].clone()
    model.begin_scenario("locomotion", samples("locomotion"))
    assert model.sequence().shape == (6, 64)  # [P_2; P_1]
    assert torch.equal(model.sequence()[3:], p1)  # the older prompt follows the new one, unchanged
    from policies.esmoe.trainer import train_on
    train_on(model, samples("locomotion"), cfg.train, progress=False)
    model.end_scenario()
    assert torch.equal(model.prompts[0], p1) and not torch.equal(model.prompts[1], p1)
    assert all(torch.equal(frozen[n], p) for n, p in model.backbone.model.named_parameters())  # backbone frozen
    # task identity given: a greeting request is served [P_1] only, a locomotion one [P_2; P_1]
    assert model.prompts_for("greeting") == 1 and model.prompts_for("locomotion") == 2 and model.prompts_for(None) == 2
    with model.evaluation_context("greeting"):
        out = model.generate(SCENARIOS["greeting"], 4)
    assert all(g.codes is not None and len(g.codes) == 4 for g in out)


def test_progprompt_hook_puts_each_rows_prompts_in_place_of_the_placeholders():
    cfg = config()
    cfg = dataclasses.replace(cfg, progprompt=dataclasses.replace(cfg.progprompt, prompt_length=2, mlp_bottleneck=0))
    model = ProgPrompt(backbone(), cfg, EMOTIONS)
    model.prompts = [torch.full((2, 64), 1.0), torch.full((2, 64), 2.0)]
    tok = model.backbone.tokenizer
    rows = model._prefixed(["a man waves"], 2) + model._prefixed(["a man waves ."], 1)
    enc = tok(rows, return_tensors="pt", padding=True, add_special_tokens=False)
    emb = model.backbone.model.get_input_embeddings()(enc["input_ids"])
    first = emb[0, (enc["input_ids"][0] == model.soft_id)]
    second = emb[1, (enc["input_ids"][1] == model.soft_id)]
    assert first[:, 0].tolist() == [2.0, 2.0, 1.0, 1.0] and second[:, 0].tolist() == [1.0, 1.0]


def test_olora_l2_term_is_used_when_asked():
    cfg = config()
    cfg = dataclasses.replace(cfg, olora=dataclasses.replace(cfg.olora, lambda_l2=0.1))
    model = OLoRA(backbone(), cfg, EMOTIONS)
    model.begin_scenario("greeting", samples("greeting"))
    s = samples("greeting")[:2]
    _, info = model.loss([x.texts[0] for x in s], [x.codes for x in s], [x.emotion for x in s])
    assert info["l2"] > 0


@pytest.mark.parametrize("name", ["EPI", "SAPT", "Prog-Prompt"])
def test_new_baselines_are_registered_and_report_their_added_size(name):
    cfg = config()
    learner = BASELINES[name](backbone(), cfg, EMOTIONS)
    learn_all(learner, cfg)
    assert learner.expert_parameters() > 0 and learner.scenarios == list(SCENARIOS)
